// PromQL of the Grafana dashboard (docs/observability.md). Grafana substitutes $namespace,
// $endpoint, $model, $__rate_interval and $__range; the packaging test substitutes them too.

/**
 * ENDPOINTS maps each scrape target (job, instance) of a proxy to its endpoint, `<namespace>/<name>`,
 * from `attested_inference_config_info`. A ServiceMonitor or PodMonitor adds a target label
 * `endpoint` (the port name), which renames the metric's own label to `exported_endpoint` unless
 * honorLabels is set; label_replace puts it back, so the dashboard works with either.
 */
export const ENDPOINTS =
  'max by (job, instance, endpoint) (label_replace('
  + 'attested_inference_config_info{namespace=~"$namespace", endpoint=~"$endpoint"}'
  + ' or attested_inference_config_info{namespace=~"$namespace", exported_endpoint=~"$endpoint"}'
  + ', "endpoint", "$1", "exported_endpoint", "(.+)"))';

/** byEndpoint joins a per-target expression to its endpoint label. */
export function byEndpoint(expression: string): string {
  return `(${expression}) * on (job, instance) group_left (endpoint) ${ENDPOINTS}`;
}

/** rate is `rate(metric{filters}[$__rate_interval])` joined to its endpoint. */
export function rate(metric: string, filters = ''): string {
  return byEndpoint(`rate(${metric}{namespace=~"$namespace"${filters}}[$__rate_interval])`);
}

/** quantile is a histogram quantile by `by`, over the selected endpoints. */
export function quantile(q: number, metric: string, by: string, filters = ''): string {
  return `histogram_quantile(${String(q)}, sum by (le, ${by}) (${rate(`${metric}_bucket`, filters)}))`;
}

const MODEL = ', model=~"$model"';

/** Variables: namespace and model from labels, endpoint from the ENDPOINTS mapping. */
export const VARIABLES = {
  namespace: 'label_values(attested_inference_config_info, namespace)',
  endpoint: 'query_result(max by (endpoint) (label_replace(attested_inference_config_info{namespace=~"$namespace"}, "endpoint", "$1", "exported_endpoint", "(.+)")))',
  model: 'label_values(attested_inference_requests_total{namespace=~"$namespace"}, model)',
} as const;

/** Query is one panel target: PromQL and its legend. */
export interface Query {
  readonly expr: string;
  readonly legend: string;
}

const q = (expr: string, legend: string): Query => ({ expr, legend });

/** TRAFFIC are the usage and cost panels' queries. */
export const TRAFFIC = {
  tokensPerSecond: [q(`sum by (namespace, endpoint, model) (${rate('attested_inference_tokens_total', MODEL)})`, '{{endpoint}} {{model}}')],
  tokensPerSecondByType: [q(`sum by (token_type) (${rate('attested_inference_tokens_total', MODEL)})`, '{{token_type}}')],
  costPerHour: [q(`sum by (namespace, endpoint, model, currency) (${rate('attested_inference_cost_micros_total', MODEL)}) * 3600 / 1e6`, '{{endpoint}} {{model}} ({{currency}})')],
  costByNamespace: [q(`sum by (namespace, currency) (${byEndpoint('increase(attested_inference_cost_micros_total{namespace=~"$namespace", model=~"$model"}[$__range])')}) / 1e6`, '{{namespace}} ({{currency}})')],
  tokensInRange: [q(`sum by (namespace, endpoint, model) (${byEndpoint('increase(attested_inference_tokens_total{namespace=~"$namespace", model=~"$model"}[$__range])')})`, '{{endpoint}} {{model}}')],
  totalsTokens: [q(`sum by (namespace, endpoint, model, token_type) (${byEndpoint('attested_inference_tokens_total{namespace=~"$namespace", model=~"$model"}')})`, '')],
  totalsCost: [q(`sum by (namespace, endpoint, model, currency) (${byEndpoint('attested_inference_cost_micros_total{namespace=~"$namespace", model=~"$model"}')}) / 1e6`, '')],
} as const;

/** REQUESTS are the request rate, errors and latency panels' queries. */
export const REQUESTS = {
  requestRate: [q(`sum by (endpoint, status_code) (${rate('attested_inference_requests_total', MODEL)})`, '{{endpoint}} {{status_code}}')],
  // `or … * 0` keeps endpoints without any 5xx at 0 instead of dropping them from the division.
  errorRatio: [q(
    `(sum by (endpoint) (${rate('attested_inference_requests_total', `${MODEL}, status_code=~"5.."`)}) or sum by (endpoint) (${rate('attested_inference_requests_total', MODEL)}) * 0)`
    + ` / sum by (endpoint) (${rate('attested_inference_requests_total', MODEL)})`,
    '{{endpoint}}',
  )],
  latency: [0.5, 0.95, 0.99].map((p) => q(quantile(p, 'gen_ai_client_operation_duration_seconds', 'endpoint', MODEL), `p${String(p * 100)} {{endpoint}}`)),
  timeToFirstToken: [0.5, 0.95, 0.99].map((p) => q(quantile(p, 'gen_ai_server_time_to_first_token_seconds', 'endpoint', MODEL), `p${String(p * 100)} {{endpoint}}`)),
  rateLimited: [q(`sum by (endpoint, caller_namespace, caller, limit) (${rate('attested_inference_rate_limited_total')})`, '{{endpoint}} {{caller}} {{limit}}')],
  inFlight: [q(`sum by (endpoint) (${byEndpoint('attested_inference_in_flight_requests{namespace=~"$namespace"}')})`, '{{endpoint}}')],
  upstreamErrors: [q(`sum by (endpoint, kind) (${rate('attested_inference_upstream_errors_total')})`, '{{endpoint}} {{kind}}')],
} as const;

const SPENT = 'attested_inference_budget_spent_micros{namespace=~"$namespace"}';
const REMAINING = 'attested_inference_budget_remaining_micros{namespace=~"$namespace"}';

/**
 * LIMITS are the limits store and budget panels' queries. Budgets belong to a namespace, not an
 * endpoint: their gauges are each replica's last view of the namespace's window, so each replica's
 * own pair gives its view of the fraction used and the largest view is the newest (docs/observability.md).
 */
export const LIMITS = {
  budgetUsed: [q(`max by (namespace, window) (${SPENT} / (${SPENT} + ${REMAINING} > 0))`, '{{namespace}} {{window}}')],
  budgetSpend: [
    q(`max by (namespace, window, currency) (${SPENT}) / 1e6`, 'spent {{namespace}} {{window}} ({{currency}})'),
    q(`min by (namespace, window, currency) (${REMAINING}) / 1e6`, 'remaining {{namespace}} {{window}} ({{currency}})'),
  ],
  refusals: [q(`sum by (namespace, limit, scope) (${rate('attested_inference_rate_limited_total')})`, '{{namespace}} {{limit}} ({{scope}})')],
  crossings: [q(`sum by (namespace, scope, window, threshold) (${byEndpoint('increase(attested_inference_budget_threshold_crossings_total{namespace=~"$namespace"}[$__range])')})`, '')],
  storeUp: [q(`min by (endpoint) (${byEndpoint('attested_inference_limits_store_up{namespace=~"$namespace"}')})`, '{{endpoint}}')],
  storeLatency: [0.5, 0.99].map((p) => q(quantile(p, 'attested_inference_limits_store_duration_seconds', 'operation'), `p${String(p * 100)} {{operation}}`)),
  storeErrors: [q(`sum by (endpoint, operation) (${rate('attested_inference_limits_store_errors_total')})`, '{{endpoint}} {{operation}}')],
} as const;

/** ATTESTATION are the attestation panels' queries. */
export const ATTESTATION = {
  up: [q(`min by (endpoint) (${byEndpoint('attested_inference_attestation_up{namespace=~"$namespace"}')})`, '{{endpoint}}')],
  age: [q(`max by (endpoint) (${byEndpoint('time() - (attested_inference_attestation_verified_timestamp_seconds{namespace=~"$namespace"} > 0)')})`, '{{endpoint}}')],
  release: [q(`max by (endpoint, trust, release_digest) (${byEndpoint('attested_inference_attestation_info{namespace=~"$namespace"}')})`, '')],
  verifications: [q(`sum by (endpoint, result, step) (${rate('attested_inference_attestation_verifications_total')})`, '{{endpoint}} {{result}} {{step}}')],
  rollouts: [q('sum by (reason) (increase(attested_inference_operator_rollouts_total[$__range]))', '{{reason}}')],
  conditions: [q('max by (endpoint, type, status, reason) (attested_inference_operator_endpoint_condition{endpoint=~"$endpoint"})', '')],
} as const;

/** OPERATOR are the operator health panels' queries (the operator's metrics are not per namespace). */
export const OPERATOR = {
  reconcileRate: [q('sum by (controller, result) (rate(attested_inference_operator_reconcile_total[$__rate_interval]))', '{{controller}} {{result}}')],
  reconcileErrors: [q('sum by (controller) (rate(attested_inference_operator_reconcile_errors_total[$__rate_interval]))', '{{controller}}')],
  reconcileDuration: [q('histogram_quantile(0.95, sum by (le, controller) (rate(attested_inference_operator_reconcile_duration_seconds_bucket[$__rate_interval])))', 'p95 {{controller}}')],
  workqueueDepth: [q('max by (controller) (attested_inference_operator_workqueue_depth)', '{{controller}}')],
  leader: [q('max by (pod, instance) (attested_inference_operator_leader)', '{{pod}}{{instance}}')],
  verifications: [q('sum by (result) (rate(attested_inference_operator_attestation_verifications_total[$__rate_interval]))', '{{result}}')],
} as const;
