{{/*
The operator's limits stores (docs/adr/0009-limits-store-credentials.md): the only Redis URLs it
connects to, each with its own credential. Store i's Secrets and ConfigMap are projected into one
volume at aio.limitsStoreDir, as <i>/password and <i>/ca.crt; the list itself is stores.json there.
*/}}
{{- define "aio.limitsStoreDir" -}}/etc/attested-inference/limits-store{{- end -}}
{{- define "aio.limitsStoresConfigMap" -}}attested-inference-operator-limits-stores{{- end -}}

{{/* aio.limitsStoresCheck fails the render on settings that would send a credential somewhere unintended. */}}
{{- define "aio.limitsStoresCheck" -}}
{{- if hasKey .Values.limitsStore "passwordSecret" -}}
{{- fail "limitsStore.passwordSecret was removed: one password for whatever store an endpoint names reached Redis servers tenants run. List each store with its own credential in limitsStore.stores (docs/helm.md)." -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $i, $s := .Values.limitsStore.stores -}}
{{- $url := trimSuffix "/" $s.url | lower -}}
{{- if hasKey $seen $url }}{{ fail (printf "limitsStore.stores[%d].url %s is listed twice" $i $url) }}{{ end -}}
{{- $_ := set $seen $url true -}}
{{- if and (not (hasPrefix "rediss://" $url)) (or $s.caSecret $s.caConfigMap $s.serverName) }}{{ fail (printf "limitsStore.stores[%d]: caSecret, caConfigMap and serverName are for rediss:// URLs only" $i) }}{{ end -}}
{{- if and $s.caSecret $s.caConfigMap }}{{ fail (printf "limitsStore.stores[%d]: set caSecret or caConfigMap, not both" $i) }}{{ end -}}
{{- end -}}
{{- end -}}

{{/* aio.limitsStoresJson is the operator's --limits-store-config: URLs, users, file paths and server names, no secret. */}}
{{- define "aio.limitsStoresJson" -}}
{{- $dir := include "aio.limitsStoreDir" . -}}
{{- $stores := list -}}
{{- range $i, $s := .Values.limitsStore.stores -}}
{{- $entry := dict "url" (trimSuffix "/" $s.url | lower) -}}
{{- with $s.username }}{{ $_ := set $entry "username" . }}{{ end -}}
{{- if $s.passwordSecret }}{{ $_ := set $entry "passwordFile" (printf "%s/%d/password" $dir $i) }}{{ end -}}
{{- if or $s.caSecret $s.caConfigMap }}{{ $_ := set $entry "caFile" (printf "%s/%d/ca.crt" $dir $i) }}{{ end -}}
{{- with $s.serverName }}{{ $_ := set $entry "serverName" . }}{{ end -}}
{{- with $s.timeoutMilliseconds }}{{ $_ := set $entry "timeoutMilliseconds" (int .) }}{{ end -}}
{{- $stores = append $stores $entry -}}
{{- end -}}
{{- dict "stores" $stores | toJson -}}
{{- end -}}
