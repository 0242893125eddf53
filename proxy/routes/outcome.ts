import type { Span } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import type { Caller } from '../auth/types.ts';
import type { ProxyConfig } from '../config/schema.ts';
import type { IncompleteReason } from '../metering/completeness.ts';
import { costMicros, modelPrice } from '../metering/cost.ts';
import { modelLabel, recordUsage, type ProxyMetrics } from '../metering/metrics.ts';
import type { ModelPrice, TokenUsage } from '../metering/types.ts';
import type { TokenEstimate } from '../limits/estimate.ts';
import { settlementFor, type Settlement } from '../limits/settlement.ts';
import type { RateLimiter, Reservation } from '../limits/types.ts';
import type { RequestMode } from '../upstream/provider.ts';
import type { RouteSpec } from './catalogue.ts';

/** Outcome is everything known about one request when it ends; nothing in it is content. */
export interface Outcome {
  readonly spec: RouteSpec;
  readonly status: number;
  readonly caller: Caller | undefined;
  readonly requestedModel: string | undefined;
  /** upstreamModel is the model sent upstream when the requested one is an alias of it. */
  readonly upstreamModel?: string;
  readonly mode: RequestMode | undefined;
  readonly stream: boolean;
  readonly usage: TokenUsage | undefined;
  readonly durationMs: number;
  readonly firstOutputMs: number | undefined;
  readonly releaseDigest: string | undefined;
  readonly errorCode: string | undefined;
  readonly aborted: boolean;
  /**
   * incomplete says the answer was short (its body failed rather than ended): `usage` then covers
   * what passed, which is what a charge for the request must be based on.
   */
  readonly incomplete?: IncompleteReason;
  /** held is what the request reserved against its limits, and what passed of its output: the settlement's inputs. */
  readonly held?: {
    readonly reservation: Reservation;
    readonly estimate: TokenEstimate;
    /** price is what the reservation was priced at: the requested model's, or the dearest for a client-sealed body. */
    readonly price: ModelPrice | undefined;
    readonly contentEvents: number;
  };
}

/** OutcomeDeps are the sinks an outcome is written to. */
export interface OutcomeDeps {
  readonly config: ProxyConfig;
  readonly metrics: ProxyMetrics;
  readonly limiter: RateLimiter;
}

/** callerKey is the key rate limits are kept under. */
export function callerKey(caller: Caller): string {
  return caller.label;
}

interface Labels {
  readonly model: string;
  readonly caller: string;
  readonly callerNamespace: string;
}

function usageCost(o: Outcome, config: ProxyConfig): number | undefined {
  if (o.usage === undefined) return undefined;
  const price = modelPrice(config.prices, o.requestedModel ?? o.usage.model, o.upstreamModel);
  return price ? costMicros(o.usage, price) : undefined;
}

function recordMetrics(o: Outcome, labels: Labels, metrics: ProxyMetrics, config: ProxyConfig): number | undefined {
  const route = o.spec.route;
  const status = String(o.status);
  const who = { caller: labels.caller, caller_namespace: labels.callerNamespace };
  metrics.requests.inc({ route, model: labels.model, status_code: status, mode: o.mode ?? 'none', ...who });
  metrics.operationDuration.observe({ route, model: labels.model, status_code: status }, o.durationMs / 1000);
  if (o.stream && o.firstOutputMs !== undefined) metrics.timeToFirstToken.observe({ route, model: labels.model }, o.firstOutputMs / 1000);
  if (o.usage === undefined || route === 'models') return undefined;
  const cost = usageCost(o, config);
  recordUsage(metrics, { route, model: labels.model, caller: labels.caller, callerNamespace: labels.callerNamespace, usage: o.usage, costMicros: cost, currency: config.prices.currency });
  return cost;
}

function recordSpan(o: Outcome, labels: Labels, span: Span): void {
  span.setAttributes({
    'http.response.status_code': o.status,
    'gen_ai.request.model': labels.model,
    'attested_inference.mode': o.mode ?? 'none',
    ...(o.usage ? { 'gen_ai.usage.input_tokens': o.usage.inputTokens, 'gen_ai.usage.output_tokens': o.usage.outputTokens } : {}),
    ...(o.releaseDigest ? { 'attested_inference.release_digest': o.releaseDigest } : {}),
  });
  span.end();
}

function logFields(o: Outcome, labels: Labels, cost: number | undefined, settled: Settlement | undefined): Record<string, unknown> {
  const round = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms));
  return {
    route: o.spec.route,
    model: labels.model,
    upstreamModel: o.upstreamModel !== o.requestedModel ? o.upstreamModel : undefined,
    status: o.status,
    mode: o.mode,
    caller: labels.caller,
    callerNamespace: labels.callerNamespace || undefined,
    stream: o.stream,
    durationMs: round(o.durationMs),
    firstOutputMs: round(o.firstOutputMs),
    inputTokens: o.usage?.inputTokens,
    cachedInputTokens: o.usage?.cachedInputTokens,
    outputTokens: o.usage?.outputTokens,
    costMicros: cost,
    releaseDigest: o.releaseDigest,
    error: o.errorCode,
    aborted: o.aborted || undefined,
    incomplete: o.incomplete,
    charged: settled && { basis: settled.basis, reason: settled.reason, tokens: settled.charged.tokens, costMicros: settled.charged.costMicros },
  };
}

/**
 * settle replaces the request's reservation by what it is charged (settlementFor): its usage, or
 * its estimate when the usage never came, which is counted. Priced as the cost metrics are.
 */
async function settle(o: Outcome, deps: OutcomeDeps): Promise<Settlement | undefined> {
  if (o.held === undefined) return undefined;
  const settled = settlementFor({
    estimate: o.held.estimate,
    // The model's price as the cost metrics have it; a model the table does not price (reported by
    // a client-sealed answer) is charged at the reservation's price, never for free.
    price: modelPrice(deps.config.prices, o.requestedModel ?? o.usage?.model, o.upstreamModel) ?? o.held.price,
    usage: o.usage,
    answered: o.mode !== undefined,
    status: o.status,
    aborted: o.aborted,
    incomplete: o.incomplete !== undefined,
    contentEvents: o.held.contentEvents,
  });
  if (settled.reason !== undefined) deps.metrics.estimatedCharges.inc({ route: o.spec.route, reason: settled.reason });
  await deps.limiter.settle(o.held.reservation, settled.charged);
  return settled;
}

/** recordOutcome writes one finished request to metrics, the limiter, the trace span and the log. */
export async function recordOutcome(o: Outcome, deps: OutcomeDeps, sinks: { span: Span; log: FastifyBaseLogger }): Promise<void> {
  const labels: Labels = {
    model: modelLabel(o.requestedModel ?? o.usage?.model, { allowed: deps.config.models.allowed, priced: deps.config.prices.models, aliases: deps.config.models.aliases }),
    caller: o.caller?.label ?? 'unauthenticated',
    callerNamespace: o.caller?.namespace ?? '',
  };
  const cost = recordMetrics(o, labels, deps.metrics, deps.config);
  // The real usage and cost (body, final stream event, or Tinfoil's usage header or trailer for
  // client-sealed bodies) settle the reservation once the response has ended.
  const settled = await settle(o, deps);
  recordSpan(o, labels, sinks.span);
  sinks.log.info(logFields(o, labels, cost, settled), 'request finished');
}
