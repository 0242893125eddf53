{{/* fullname is the release-derived name of the operator's objects. */}}
{{- define "aio.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* secretNames joins the names of a list of {name: ...} references with commas. */}}
{{- define "aio.secretNames" -}}
{{- $names := list -}}
{{- range . }}{{- $names = append $names .name -}}{{- end -}}
{{- join "," $names -}}
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

{{/* image is an image reference: repository@digest when a digest is set (it wins over the tag), else repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "aio.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Names fixed by docs/helm.md: the operator and tests refer to them. */}}
{{- define "aio.webhookName" -}}attested-inference-sidecar-injector{{- end -}}
{{- define "aio.webhookService" -}}attested-inference-webhook{{- end -}}
{{- define "aio.webhookSecret" -}}attested-inference-webhook-tls{{- end -}}
{{- define "aio.leaseName" -}}attested-inference-operator{{- end -}}

{{/* policyName names the admin policy: the admission policy, its default params and every refusal. */}}
{{- define "aio.policyName" -}}attested-inference-policy{{- end -}}
{{- define "aio.operatorPolicyConfigMap" -}}attested-inference-operator-policy{{- end -}}

{{/*
policyLists returns, as JSON, the policy lists set in the dict it is given, normalised as the
admission policy and the operator compare them: hosts in lower case (DNS names are
case-insensitive, RFC 4343) without a trailing dot, limits stores in lower case (their pattern
leaves scheme, host, port and database number) without a trailing slash. Keys not set stay unset.
*/}}
{{- define "aio.policyLists" -}}
{{- $out := dict -}}
{{- range $key := list "proxyImages" "configRepos" -}}
{{- if hasKey $ $key }}{{- $_ := set $out $key (get $ $key | default list) -}}{{- end -}}
{{- end -}}
{{- if hasKey $ "unattestedUpstreamHosts" -}}
{{- $hosts := list -}}
{{- range (get $ "unattestedUpstreamHosts" | default list) }}{{- $hosts = append $hosts (regexReplaceAll "\\.(:[0-9]+)?$" (lower .) "${1}") -}}{{- end -}}
{{- $_ := set $out "unattestedUpstreamHosts" $hosts -}}
{{- end -}}
{{- if hasKey $ "limitsStores" -}}
{{- $stores := list -}}
{{- range (get $ "limitsStores" | default list) }}{{- $stores = append $stores (trimSuffix "/" . | lower) -}}{{- end -}}
{{- $_ := set $out "limitsStores" $stores -}}
{{- end -}}
{{- if hasKey $ "developmentTrust" }}{{- $_ := set $out "developmentTrust" (get $ "developmentTrust") -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* policyDefault returns, as JSON, the default policy; development trust is the master switch's. */}}
{{- define "aio.policyDefault" -}}
{{- $p := .Values.policy -}}
{{- $lists := dict "proxyImages" $p.proxyImages "configRepos" $p.configRepos "unattestedUpstreamHosts" $p.unattestedUpstreamHosts "limitsStores" $p.limitsStores -}}
{{- $default := include "aio.policyLists" $lists | fromJson -}}
{{- $_ := set $default "developmentTrust" .Values.allowDevelopmentTrust -}}
{{- toJson $default -}}
{{- end -}}

{{/* policyExceptions returns, as JSON, each namespace's exception, normalised; it fails on one the master switch forbids. */}}
{{- define "aio.policyExceptions" -}}
{{- $out := dict -}}
{{- range $ns, $exception := (.Values.policy.namespaces | default dict) -}}
{{- if and (get ($exception | default dict) "developmentTrust") (not $.Values.allowDevelopmentTrust) -}}
{{- fail (printf "policy.namespaces.%s.developmentTrust: true needs allowDevelopmentTrust: true (the master switch)" $ns) -}}
{{- end -}}
{{- $_ := set $out $ns (include "aio.policyLists" ($exception | default dict) | fromJson) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* policyJson is the operator's policy file (--policy-file): the default and the partial exceptions. */}}
{{- define "aio.policyJson" -}}
{{- toPrettyJson (dict "name" (include "aio.policyName" .) "default" (include "aio.policyDefault" . | fromJson) "namespaces" (include "aio.policyExceptions" . | fromJson)) -}}
{{- end -}}
