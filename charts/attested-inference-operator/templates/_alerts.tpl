{{/*
aio.alertGroups renders the alerting rules (docs/observability.md, "Alerts") as a `groups:` list:
the PrometheusRule's spec, and config/prometheus/attested-inference.rules.yaml for plain Prometheus
and promtool. Thresholds come from .Values.monitoring.prometheusRule.
*/}}
{{- define "aio.alertGroups" -}}
{{- $rule := .Values.monitoring.prometheusRule -}}
{{- $budget := $rule.costBudget -}}
{{- $cost := printf "sum by (namespace) (increase(attested_inference_cost_micros_total{currency=%q}[1d])) / 1e6" $budget.currency -}}
{{- /* Each replica reports the namespace's spend and remaining as it last saw them; its own pair gives
its view of the used fraction (a zero budget is left out). The largest view is the newest within a
window, and the tightest budget when endpoints declare different ones (docs/observability.md). */}}
{{- $used := "max by (namespace, window, currency) (attested_inference_budget_spent_micros / (attested_inference_budget_spent_micros + attested_inference_budget_remaining_micros > 0))" -}}
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
        expr: sum by (namespace, caller_namespace, caller) (rate(attested_inference_rate_limited_total{limit!="budget"}[5m])) > 0
        for: 15m
        labels:
          severity: info
        annotations:
          summary: {{`Caller {{ $labels.caller }} is being rate limited by endpoints in {{ $labels.namespace }}`}}
          description: Requests are refused with 429; raise spec.rateLimits or slow the caller down.
      - alert: AttestedInferenceBudgetNearlySpent
        expr: {{ printf "%s >= %v < 1" $used $rule.budgetNearlySpent }}
        labels:
          severity: warning
        annotations:
          summary: {{`Namespace {{ $labels.namespace }} has used {{ $value | humanizePercentage }} of its {{ $labels.window }} spend budget`}}
          description: {{`At 100 % its endpoints refuse requests with 429 insufficient_quota until the window resets (UTC); raise spec.budgets.namespace or slow its callers down.`}}
      - alert: AttestedInferenceBudgetExhausted
        expr: {{ printf "%s >= 1" $used }}
        labels:
          severity: critical
        annotations:
          summary: {{`Namespace {{ $labels.namespace }} has spent its {{ $labels.window }} budget`}}
          description: {{`Its endpoints refuse every inference request with 429 insufficient_quota until the {{ $labels.window }} window resets (UTC).`}}
      - alert: AttestedInferenceCallerBudgetExhausted
        expr: sum by (namespace, caller_namespace, caller) (rate(attested_inference_rate_limited_total{limit="budget", scope="caller"}[5m])) > 0
        labels:
          severity: warning
        annotations:
          summary: {{`Caller {{ $labels.caller }} has spent its budget at endpoints in {{ $labels.namespace }}`}}
          description: Its requests are refused with 429 insufficient_quota until its window resets (UTC); raise spec.budgets.perCaller if that is not intended.
      - alert: AttestedInferenceLimitsStoreDown
        expr: attested_inference_limits_store_up == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: {{`Proxy {{ $labels.namespace }}/{{ $labels.pod }} cannot reach its limits store (Redis)`}}
          description: Depending on spec.limitsStore.redis.failurePolicy it refuses inference requests with 503 limits_unavailable (FailClosed) or enforces rate limits and budgets alone, per replica (FailOpen).
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
