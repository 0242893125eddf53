import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AttestationStep, TrustMode } from '../attestation/types.ts';
import type { InferenceRoute, TokenUsage } from './types.ts';

// The label value sets belong to the modules that produce them; re-exported for the metric users.
export type { RequestMode } from '../upstream/provider.ts';
export type { UpstreamErrorKind } from '../upstream/http.ts';
export type { LimitKind, LimitScope, RefusalReason } from '../limits/types.ts';

/** TokenType is the `token_type` label: OpenTelemetry's `input`/`output` plus `cached_input`. */
export type TokenType = 'input' | 'cached_input' | 'output';

/** VerificationResult and VerificationStep label attestation verifications; a success has step `none`. */
export type VerificationResult = 'success' | 'failure';
export type VerificationStep = AttestationStep | 'none';

/** ProxyMetrics holds the proxy's metric handles, all registered on one registry. */
export interface ProxyMetrics {
  readonly requests: Counter<'route' | 'model' | 'status_code' | 'caller' | 'caller_namespace' | 'mode'>;
  readonly tokens: Counter<'route' | 'model' | 'token_type' | 'caller' | 'caller_namespace'>;
  readonly costMicros: Counter<'model' | 'currency' | 'caller' | 'caller_namespace'>;
  readonly operationDuration: Histogram<'route' | 'model' | 'status_code'>;
  readonly timeToFirstToken: Histogram<'route' | 'model'>;
  readonly tokenUsage: Histogram<'route' | 'model' | 'token_type'>;
  readonly upstreamErrors: Counter<'kind'>;
  readonly incompleteAnswers: Counter<'route' | 'reason'>;
  readonly estimatedCharges: Counter<'route' | 'reason'>;
  readonly attestationUp: Gauge;
  readonly attestationInfo: Gauge<'trust' | 'release_digest' | 'measurement_fingerprint'>;
  readonly attestationVerifiedTimestamp: Gauge;
  readonly attestationVerifications: Counter<'result' | 'step'>;
  readonly unattested: Gauge;
  readonly rateLimited: Counter<'caller' | 'caller_namespace' | 'limit' | 'scope'>;
  readonly inFlightRequests: Gauge;
  readonly limitsStoreUp: Gauge;
  readonly limitsStoreDuration: Histogram<'operation' | 'result'>;
  readonly limitsStoreErrors: Counter<'operation'>;
  readonly budgetSpent: Gauge<'window' | 'currency'>;
  readonly budgetRemaining: Gauge<'window' | 'currency'>;
  /** onBudgetCollect adds a hook run when a scrape reads the budget gauges, before their values. */
  readonly onBudgetCollect: (hook: () => void) => void;
  readonly budgetThresholdCrossings: Counter<'scope' | 'window' | 'threshold'>;
  readonly providerKeyLoaded: Gauge;
  readonly providerKeyAnswers: Counter<'key_index' | 'outcome'>;
  readonly providerKeySetAside: Gauge<'key_index'>;
  readonly configInfo: Gauge<'endpoint' | 'provider' | 'trust'>;
}

// Bucket bounds follow the OpenTelemetry GenAI semantic conventions' advice (gen-ai-metrics.md):
// doubling durations from 10 ms, extended to the proxy's 300 s ceiling for long generations;
// time to first token from 5 ms to a minute; tokens per request in powers of 4 up to 4M.
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 300];
const TTFT_BUCKETS = [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 30, 60];
const TOKEN_BUCKETS = Array.from({ length: 12 }, (_, i) => 4 ** i);
// A shared limits check on loopback takes tens of microseconds; a distant Redis, milliseconds.
const STORE_BUCKETS = [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * createProxyMetrics registers every proxy metric on `registry` (never prom-client's global one,
 * so tests and several proxies in one process do not collide) and returns their handles. No metric
 * carries `namespace`, `pod`, `service`, `job` or `instance` labels: Prometheus adds the target's.
 * docs/metrics.md documents each one; a test keeps the two in step.
 */
export function createProxyMetrics(registry: Registry): ProxyMetrics {
  const registers = [registry];
  const counter = <T extends string>(name: string, help: string, labelNames: readonly T[]): Counter<T> =>
    new Counter({ name, help, labelNames, registers });
  const gauge = <T extends string>(name: string, help: string, labelNames: readonly T[]): Gauge<T> =>
    new Gauge({ name, help, labelNames, registers });
  const histogram = <T extends string>(name: string, help: string, labelNames: readonly T[], buckets: number[]): Histogram<T> =>
    new Histogram({ name, help, labelNames, buckets, registers });
  const caller = ['caller', 'caller_namespace'] as const;
  const budgetHooks: (() => void)[] = [];
  const budgetGauge = (name: string, help: string): Gauge<'window' | 'currency'> =>
    new Gauge({ name, help, labelNames: ['window', 'currency'], registers, collect: () => { for (const hook of budgetHooks) hook(); } });
  return {
    requests: counter('attested_inference_requests_total', 'Inference requests answered, by route, model, status code, caller and body mode.',
      ['route', 'model', 'status_code', ...caller, 'mode']),
    tokens: counter('attested_inference_tokens_total', 'Tokens consumed, by route, model, token type and caller; input excludes cached input.',
      ['route', 'model', 'token_type', ...caller]),
    costMicros: counter('attested_inference_cost_micros_total', 'Cost in integer micro-units of the price table currency, by model and caller.',
      ['model', 'currency', ...caller]),
    operationDuration: histogram('gen_ai_client_operation_duration_seconds', 'Duration of inference requests through the proxy, to the last byte (OpenTelemetry gen_ai.client.operation.duration).',
      ['route', 'model', 'status_code'], DURATION_BUCKETS),
    timeToFirstToken: histogram('gen_ai_server_time_to_first_token_seconds', 'Time from request to the first streamed output event (OpenTelemetry gen_ai.server.time_to_first_token).',
      ['route', 'model'], TTFT_BUCKETS),
    tokenUsage: histogram('gen_ai_client_token_usage', 'Tokens per request, by token type (OpenTelemetry gen_ai.client.token.usage).',
      ['route', 'model', 'token_type'], TOKEN_BUCKETS),
    upstreamErrors: counter('attested_inference_upstream_errors_total', 'Failures talking to the upstream, by kind.', ['kind']),
    incompleteAnswers: counter('attested_inference_incomplete_answers_total', 'Upstream answers found short (the caller got an error, not a clean end), by route and reason.',
      ['route', 'reason']),
    estimatedCharges: counter('attested_inference_estimated_charges_total', 'Requests charged their reserved estimate because their usage never came, by route and reason.',
      ['route', 'reason']),
    attestationUp: gauge('attested_inference_attestation_up', '1 when the current upstream verified and is acceptable under the policy, else 0.', []),
    attestationInfo: gauge('attested_inference_attestation_info', 'The currently accepted attestation (value 1): trust mode, release digest and measurement fingerprint.',
      ['trust', 'release_digest', 'measurement_fingerprint']),
    attestationVerifiedTimestamp: gauge('attested_inference_attestation_verified_timestamp_seconds', 'Unix time of the last successful verification of the upstream.', []),
    attestationVerifications: counter('attested_inference_attestation_verifications_total', 'Attestation verifications, by result and the step that failed (none on success).',
      ['result', 'step']),
    unattested: gauge('attested_inference_unattested', '1 when the upstream is an unattested openai-compatible server, else 0.', []),
    rateLimited: counter('attested_inference_rate_limited_total', 'Requests refused by a rate limit or a spent budget, by caller, the limit hit and whose it was.', [...caller, 'limit', 'scope']),
    inFlightRequests: gauge('attested_inference_in_flight_requests', 'Inference requests being served now.', []),
    limitsStoreUp: gauge('attested_inference_limits_store_up', '1 when the limits store answers (always for the in-memory store), 0 while a shared store is unreachable.', []),
    limitsStoreDuration: histogram('attested_inference_limits_store_duration_seconds', 'Round trips to the shared limits store, by operation (take before a request, charge after it) and result.',
      ['operation', 'result'], STORE_BUCKETS),
    limitsStoreErrors: counter('attested_inference_limits_store_errors_total', 'Failed operations on the shared limits store, by operation.', ['operation']),
    budgetSpent: budgetGauge('attested_inference_budget_spent_micros', 'Spend of the namespace in the current budget window, as last seen by this replica.'),
    budgetRemaining: budgetGauge('attested_inference_budget_remaining_micros', 'What is left of the namespace budget in the current window (negative once overspent), as last seen.'),
    onBudgetCollect: (hook) => { budgetHooks.push(hook); },
    budgetThresholdCrossings: counter('attested_inference_budget_threshold_crossings_total', 'Charges that took a budget across 80 % or 100 % of its window, by scope, window and threshold.',
      ['scope', 'window', 'threshold']),
    providerKeyLoaded: gauge('attested_inference_provider_key_loaded', '1 when at least one provider API key file is loaded and non-empty, else 0.', []),
    providerKeyAnswers: counter('attested_inference_provider_key_answers_total', 'Upstream answers per provider key of the pool, by its index (never the key) and outcome: ok, refused (401, 403) or rate_limited (429).',
      ['key_index', 'outcome']),
    providerKeySetAside: gauge('attested_inference_provider_key_set_aside', '1 while the provider key of this index is set aside after a refusal or a rate limit, else 0.', ['key_index']),
    configInfo: gauge('attested_inference_config_info', 'The loaded configuration (value 1): endpoint name, provider type and trust mode.',
      ['endpoint', 'provider', 'trust']),
  };
}

/** OTHER_MODEL labels every model the endpoint does not vouch for; UNKNOWN_MODEL a request without one. */
export const OTHER_MODEL = 'other';
export const UNKNOWN_MODEL = 'unknown';

/** VouchedModels are the model names an endpoint's configuration names: its allow-list, its price table and its aliases. */
export interface VouchedModels {
  readonly allowed: readonly string[];
  readonly priced: Readonly<Record<string, unknown>>;
  /** aliases are names the endpoint offers for upstream models: each is a label value of its own. */
  readonly aliases?: Readonly<Record<string, unknown>>;
}

/**
 * modelLabel is the `model` label of every metric: callers choose model names (and a lenient
 * upstream may serve, or echo, any of them), so a name is a label value only when the endpoint's
 * configuration names it — on the allow-list when there is one, else in the price table — and
 * every other name is `other`. The label set is thus bounded by the configuration, whatever
 * callers send.
 */
export function modelLabel(model: string | undefined, vouched: VouchedModels): string {
  if (model === undefined || model === '') return UNKNOWN_MODEL;
  if (vouched.aliases !== undefined && Object.hasOwn(vouched.aliases, model)) return model;
  if (vouched.allowed.length > 0) return vouched.allowed.includes(model) ? model : OTHER_MODEL;
  return Object.hasOwn(vouched.priced, model) ? model : OTHER_MODEL;
}

/** UsageRecord is one request's metered usage, with its cost when the model is priced. */
export interface UsageRecord {
  readonly route: InferenceRoute;
  /** model is a modelLabel value, never a name as the caller sent it. */
  readonly model: string;
  /** caller is Caller.label; callerNamespace is Caller.namespace, `''` when unknown. */
  readonly caller: string;
  readonly callerNamespace: string;
  readonly usage: TokenUsage;
  /** costMicros is undefined when the model has no price. */
  readonly costMicros: number | undefined;
  readonly currency: string;
}

/**
 * recordUsage adds one request's tokens and cost to the counters and observes its tokens per type
 * in the token histogram. `input` counts uncached input only, so the three token types add up to
 * the request's total. Zero counts are not observed: a histogram of mostly zeros (embeddings have
 * no output, most requests no cache hit) would hide the distribution of real ones.
 */
export function recordUsage(metrics: ProxyMetrics, record: UsageRecord): void {
  const { route, model, usage } = record;
  const who = { caller: record.caller, caller_namespace: record.callerNamespace };
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const byType: readonly (readonly [TokenType, number])[] = [
    ['input', usage.inputTokens - cached],
    ['cached_input', cached],
    ['output', usage.outputTokens],
  ];
  for (const [tokenType, count] of byType) {
    if (count <= 0) continue;
    metrics.tokens.inc({ route, model, token_type: tokenType, ...who }, count);
    metrics.tokenUsage.observe({ route, model, token_type: tokenType }, count);
  }
  if (record.costMicros !== undefined) {
    metrics.costMicros.inc({ model, currency: record.currency, ...who }, record.costMicros);
  }
}

/** AttestationInfo is the identity of the attestation the proxy currently accepts. */
export interface AttestationInfo {
  readonly trust: TrustMode;
  readonly releaseDigest: string;
  readonly measurementFingerprint: string;
}

/**
 * setAttestationInfo replaces the info series with the current attestation (or none), so a
 * release change never leaves the old digest's series behind.
 */
export function setAttestationInfo(metrics: ProxyMetrics, info: AttestationInfo | undefined): void {
  metrics.attestationInfo.reset();
  if (info === undefined) return;
  metrics.attestationInfo.set({ trust: info.trust, release_digest: info.releaseDigest, measurement_fingerprint: info.measurementFingerprint }, 1);
}
