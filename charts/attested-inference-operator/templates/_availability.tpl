{{/*
aio.checkReplicas refuses replica settings that cannot work (docs/sizing.md, "Disruption"): a
PodDisruptionBudget that keeps as many operator pods as there are blocks every node drain (with
one replica, minAvailable 1 allows no eviction ever), and more than one replica without leader
election runs several operators writing the same objects at once.
*/}}
{{- define "aio.checkReplicas" -}}
{{- $replicas := int .Values.replicaCount -}}
{{- if and (gt $replicas 1) (not .Values.leaderElection.enabled) -}}
{{- fail (printf "replicaCount: %d replicas need leaderElection.enabled: true (without it every replica reconciles and writes the same objects); set replicaCount: 1 or enable leader election" $replicas) -}}
{{- end -}}
{{- if .Values.podDisruptionBudget.enabled -}}
{{- if eq $replicas 1 -}}
{{- fail "podDisruptionBudget.enabled: a budget for one operator replica blocks every node drain; set replicaCount: 2 or more, or podDisruptionBudget.enabled: false" -}}
{{- end -}}
{{- $min := .Values.podDisruptionBudget.minAvailable -}}
{{- if and (not (kindIs "string" $min)) (ge (int $min) $replicas) -}}
{{- fail (printf "podDisruptionBudget.minAvailable: %d of %d replicas allows no eviction and blocks every node drain; keep it below replicaCount" (int $min) $replicas) -}}
{{- end -}}
{{- end -}}
{{- end -}}
