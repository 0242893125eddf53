{{/*
aio.alertGroups renders the alerting rules (docs/observability.md, "Alerts") as a `groups:` list:
the PrometheusRule's spec, and config/prometheus/attested-inference.rules.yaml for plain Prometheus
and promtool. Thresholds come from .Values.monitoring.prometheusRule.
*/}}
{{- define "aio.alertGroups" -}}
{{- $rule := .Values.monitoring.prometheusRule -}}
{{- $budget := $rule.costBudget -}}
{{- $cost := printf "sum by (namespace) (increase(attested_inference_cost_micros_total{currency=%q}[1d])) / 1e6" $budget.currency -}}
groups:
  - name: attested-inference-proxy
    rules:
      - alert: AttestedInferenceAttestationFailing
        expr: attested_inference_attestation_up == 0 unless on (job, instance) attested_inference_unattested == 1
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: {{`Proxy {{ $labels.namespace }}/{{ $labels.pod }} has no verified attestation`}}
          description: {{`Every inference request through it is answered 503 attestation_failed. kubectl describe ie in {{ $labels.namespace }} shows the failing step.`}}
      - alert: AttestedInferenceAttestationStale
        expr: (time() - attested_inference_attestation_verified_timestamp_seconds > 900) and attested_inference_attestation_verified_timestamp_seconds > 0
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: {{`Proxy {{ $labels.namespace }}/{{ $labels.pod }} has not re-verified its upstream for 15 minutes`}}
          description: {{`The last successful verification was {{ $value | humanizeDuration }} ago; re-verification runs every recheck interval (5 minutes by default).`}}
      - alert: AttestedInferenceProviderKeyMissing
        expr: attested_inference_provider_key_loaded == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: {{`Proxy {{ $labels.namespace }}/{{ $labels.pod }} has no provider API key`}}
          description: Requests get 503 provider_key_missing; check the Secret named by spec.apiKeySecretRef.
      - alert: AttestedInferenceHighErrorRatio
        expr: |
          sum by (namespace, job) (rate(attested_inference_requests_total{status_code=~"5.."}[5m]))
            / sum by (namespace, job) (rate(attested_inference_requests_total[5m]))
            > {{ $rule.errorRatio }}
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: {{ printf "More than %v%% of requests to {{ $labels.namespace }}/{{ $labels.job }} fail with 5xx" (mulf 100 $rule.errorRatio) | quote }}
          description: {{ `{{ $value | humanizePercentage }} of inference requests were answered with a 5xx status over 5 minutes.` | quote }}
      - alert: AttestedInferenceRateLimited
        expr: sum by (namespace, caller_namespace, caller) (rate(attested_inference_rate_limited_total[5m])) > 0
        for: 15m
        labels:
          severity: info
        annotations:
          summary: {{`Caller {{ $labels.caller }} is being rate limited by endpoints in {{ $labels.namespace }}`}}
          description: Requests are refused with 429; raise spec.rateLimits or slow the caller down.
      {{- if or (gt (float64 $budget.default) 0.0) $budget.namespaces }}
      - alert: AttestedInferenceCostOverBudget
        expr: |
          {{ $cost }}
            > on (namespace)
          (
          {{- range $namespace, $amount := $budget.namespaces }}
            label_replace(vector({{ $amount }}), "namespace", {{ $namespace | quote }}, "", "") or
          {{- end }}
          {{- if gt (float64 $budget.default) 0.0 }}
            ({{ $cost }}) * 0 + {{ $budget.default }}
          {{- else }}
            vector(0) * 0 > 1
          {{- end }}
          )
        labels:
          severity: warning
        annotations:
          summary: {{`Inference spend in namespace {{ $labels.namespace }} is over its daily budget`}}
          description: {{ printf "{{ $value | printf \"%%.2f\" }} %s spent over the last 24 hours by endpoints in this namespace, more than its budget." $budget.currency | quote }}
      {{- end }}
  - name: attested-inference-operator
    rules:
      - alert: AttestedInferenceEndpointNotReady
        expr: max by (endpoint, reason) (attested_inference_operator_endpoint_condition{type="Ready", status!="True", reason!="ScaledToZero"}) == 1
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: {{`InferenceEndpoint {{ $labels.endpoint }} is not Ready ({{ $labels.reason }})`}}
          description: {{`kubectl describe ie shows why; fewer proxy pods are ready than spec.replicas asks for.`}}
      - alert: AttestedInferenceEndpointNotAttested
        expr: max by (endpoint, reason) (attested_inference_operator_endpoint_condition{type="Attested", status="False", reason!="Unattested"}) == 1
        for: 10m
        labels:
          severity: critical
        annotations:
          summary: {{`The operator cannot verify the upstream of InferenceEndpoint {{ $labels.endpoint }} ({{ $labels.reason }})`}}
          description: The Attested condition is False; the proxies refuse inference requests until the upstream verifies.
      - alert: AttestedInferenceOperatorReconcileErrors
        expr: sum by (namespace, controller) (rate(attested_inference_operator_reconcile_errors_total[10m])) > 0
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: {{`The attested-inference operator keeps failing to reconcile ({{ $labels.controller }})`}}
          description: {{ `{{ $value | humanize }} failed reconciles per second; the operator's logs name the endpoint and the error.` | quote }}
      - alert: AttestedInferenceOperatorNoLeader
        expr: max by (namespace) (attested_inference_operator_leader) == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: {{`No attested-inference operator replica in {{ $labels.namespace }} holds the leader Lease`}}
          description: Endpoints are not reconciled; check the operator pods and the Lease attested-inference-operator.
{{- end -}}
