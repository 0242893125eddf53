{{/* fullname is the release-derived name of the operator's objects. */}}
{{- define "aio.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* selectorLabels select the operator pods; they never change across upgrades. */}}
{{- define "aio.selectorLabels" -}}
app.kubernetes.io/name: attested-inference-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* labels go on every object the chart renders. */}}
{{- define "aio.labels" -}}
{{ include "aio.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: attested-inference
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "aio.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{/* Names fixed by docs/helm.md: the operator and tests refer to them. */}}
{{- define "aio.webhookName" -}}attested-inference-sidecar-injector{{- end -}}
{{- define "aio.webhookService" -}}attested-inference-webhook{{- end -}}
{{- define "aio.webhookSecret" -}}attested-inference-webhook-tls{{- end -}}
{{- define "aio.leaseName" -}}attested-inference-operator{{- end -}}
