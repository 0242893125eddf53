{{/*
aio.webhookClientAuth is "true" when the webhook requires the API server's client certificate
(webhook.clientAuth.caBundle or existingConfigMap), else empty. It refuses contradictory values.
*/}}
{{- define "aio.webhookClientAuth" -}}
{{- $auth := .Values.webhook.clientAuth -}}
{{- if and $auth.caBundle $auth.existingConfigMap -}}
{{- fail "webhook.clientAuth: set caBundle or existingConfigMap, not both" -}}
{{- end -}}
{{- if and $auth.allowedNames (not (or $auth.caBundle $auth.existingConfigMap)) -}}
{{- fail "webhook.clientAuth.allowedNames needs webhook.clientAuth.caBundle or existingConfigMap: names are checked on a certificate the CA verified" -}}
{{- end -}}
{{- if and .Values.webhook.enabled (or $auth.caBundle $auth.existingConfigMap) -}}true{{- end -}}
{{- end -}}

{{/* aio.webhookClientCaConfigMap names the ConfigMap holding ca.crt, the CA of the API server's webhook client certificate. */}}
{{- define "aio.webhookClientCaConfigMap" -}}
{{- .Values.webhook.clientAuth.existingConfigMap | default (printf "%s-webhook-client-ca" (include "aio.fullname" .)) -}}
{{- end -}}

{{/* aio.webhookClientCaDir is where the operator reads that CA (--webhook-client-ca-file). */}}
{{- define "aio.webhookClientCaDir" -}}/etc/attested-inference/webhook-client-ca{{- end -}}
