import { performance } from 'node:perf_hooks';
import { trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller, CallerAuthenticator } from '../auth/types.ts';
import { resolveModel, type ResolvedModel } from '../config/aliases.ts';
import type { ProxyConfig } from '../config/schema.ts';
import { ENCAPSULATED_KEY_HEADER } from '../ehbp/client.ts';
import { ProxyError } from '../errors.ts';
import { estimateTokens, type TokenEstimate } from '../limits/estimate.ts';
import { refusalError } from '../limits/limiter.ts';
import { chargeFor } from '../limits/settlement.ts';
import type { RateLimiter, Reservation } from '../limits/types.ts';
import type { IncompleteReason } from '../metering/completeness.ts';
import { highestPrice, modelPrice } from '../metering/cost.ts';
import type { ProxyMetrics } from '../metering/metrics.ts';
import type { InferenceRoute as MeteredRoute, ModelPrice } from '../metering/types.ts';
import { ensureStreamUsage, injectPromptCacheSecret } from '../metering/request-shaping.ts';
import { forwardableRequestHeaders, UpstreamError } from '../upstream/http.ts';
import type { Provider, ProviderResponse, RequestMode } from '../upstream/provider.ts';
import type { RouteSpec } from './catalogue.ts';
import { filterModelList } from './models.ts';
import { callerKey, recordOutcome, type Outcome } from './outcome.ts';
import { readPlainRequest } from './request-body.ts';
import { relay, type Relayed } from './relay.ts';

const tracer = trace.getTracer('attested-inference-proxy');

/** InferenceDeps is what the inference routes need, handed in by the server. */
export interface InferenceDeps {
  readonly config: ProxyConfig;
  readonly provider: Provider;
  readonly authenticator: CallerAuthenticator;
  readonly limiter: RateLimiter;
  readonly metrics: ProxyMetrics;
  readonly promptCacheSecret: () => string | undefined;
}

/** Prepared is a request ready to go upstream. */
interface Prepared {
  readonly body: Buffer | undefined;
  readonly passthrough: boolean;
  /** json is the caller's JSON body as it came (before shaping), for the fields the estimate reads. */
  readonly json?: Record<string, unknown>;
  /** bytes is the size of the caller's body as it came. */
  readonly bytes: number;
  /** model is the name the caller sent (an alias or a model); upstreamModel is the one sent upstream. */
  readonly model: string | undefined;
  readonly upstreamModel?: string;
  readonly stream: boolean;
  readonly hideUsageChunk: boolean;
}

function checkAllowed(model: string | undefined, allowed: readonly string[]): void {
  if (model !== undefined && allowed.length > 0 && !allowed.includes(model)) {
    throw new ProxyError('model_not_found', `The model \`${model}\` does not exist or you do not have access to it.`, { param: 'model' });
  }
}

/**
 * resolve maps an alias to its upstream model and checks the allow-list: an alias is a name the
 * endpoint offers, so it passes; any other name must be allowed. Aliases apply to JSON bodies, the
 * ones the proxy rewrites; a form naming an alias is refused rather than sent with a name the
 * upstream does not know.
 */
function resolve(spec: RouteSpec, model: string | undefined, config: ProxyConfig): ResolvedModel | undefined {
  if (model === undefined) return undefined;
  const resolved = resolveModel(model, config.models.aliases);
  if (!resolved.aliased) checkAllowed(model, config.models.allowed);
  else if (spec.body !== 'json') {
    throw new ProxyError('invalid_request', `\`${model}\` is a model alias, which applies to JSON requests only; name the model \`${resolved.upstream}\` itself`, { param: 'model' });
  }
  return resolved;
}

/** shapeJson rewrites what the proxy changes in a JSON body: an aliased model, the usage it asks for on streams, the prompt-cache secret. */
function shapeJson(spec: RouteSpec & { route: MeteredRoute }, json: Record<string, unknown>, resolved: ResolvedModel | undefined, cacheSecret: string | undefined): { body?: unknown; hideUsageChunk: boolean } {
  const named = resolved?.aliased ? { ...json, model: resolved.upstream } : json;
  const withUsage = ensureStreamUsage(named, spec.route);
  const shaped = cacheSecret === undefined ? withUsage : injectPromptCacheSecret(withUsage.body, spec.route, cacheSecret);
  const changed = resolved?.aliased === true || withUsage.injected || shaped.injected;
  return { ...(changed ? { body: shaped.body } : {}), hideUsageChunk: withUsage.injected };
}

/** prepare reads and shapes the request body; a client-sealed (EHBP) body is left as it is. */
async function prepare(spec: RouteSpec, request: FastifyRequest, config: ProxyConfig, cacheSecret: string | undefined): Promise<Prepared> {
  const raw = Buffer.isBuffer(request.body) ? request.body : undefined;
  const bytes = raw?.length ?? 0;
  if (request.headers[ENCAPSULATED_KEY_HEADER.toLowerCase()] !== undefined) {
    if (!config.passthrough.enabled) throw new ProxyError('passthrough_not_allowed');
    return { body: raw, bytes, passthrough: true, model: undefined, stream: false, hideUsageChunk: false };
  }
  const plain = await readPlainRequest(spec, raw, request.headers['content-type']);
  const resolved = resolve(spec, plain.model, config);
  const base = { body: raw, bytes, passthrough: false, json: plain.json, model: plain.model, upstreamModel: resolved?.upstream, stream: plain.stream, hideUsageChunk: false };
  if (plain.json === undefined || spec.route === 'models' || spec.route === 'audio/transcriptions') return base;
  const shaped = shapeJson({ ...spec, route: spec.route }, plain.json, resolved, cacheSecret);
  return { ...base, body: shaped.body === undefined ? raw : Buffer.from(JSON.stringify(shaped.body)), hideUsageChunk: shaped.hideUsageChunk };
}

async function admit(deps: InferenceDeps, caller: Caller, reply: FastifyReply): Promise<void> {
  refuseIf(await deps.limiter.admit(callerKey(caller)), deps, caller, reply);
}

function refuseIf(answer: Awaited<ReturnType<RateLimiter['reserve']>>, deps: InferenceDeps, caller: Caller, reply: FastifyReply): void {
  void reply.headers(answer.headers);
  if (answer.allowed) return;
  deps.metrics.rateLimited.inc({ caller: caller.label, caller_namespace: caller.namespace ?? '', limit: answer.limit ?? 'requests', scope: answer.scope ?? 'caller' });
  throw refusalError(answer, deps.config.prices.currency);
}

/** budgetsApply says whether any spend budget limits this endpoint's callers: then every request must be priced. */
function budgetsApply(config: ProxyConfig): boolean {
  const { caller, namespace } = config.limits.budgets;
  return [caller, namespace].some((b) => b?.dailyMicros !== undefined || b?.monthlyMicros !== undefined);
}

/**
 * reserve holds the request's estimate against the caller's token limits and budgets once its body
 * is known (docs/adr/0007-shared-limits-and-budgets.md): a request that does not fit is refused
 * before it goes upstream, and one that fits is settled when it ends. Under a budget, a model
 * without a price (and no default price) is refused: it could not be charged.
 */
async function reserve(spec: RouteSpec, deps: InferenceDeps, t: Tracking, reply: FastifyReply): Promise<void> {
  const prepared = t.prepared;
  if (spec.route === 'models' || prepared === undefined || t.caller === undefined) return;
  // A client-sealed body hides its model: it reserves at the table's dearest price.
  const price = modelPrice(deps.config.prices, prepared.model, prepared.upstreamModel) ?? (prepared.passthrough ? highestPrice(deps.config.prices) : undefined);
  if (price === undefined && budgetsApply(deps.config)) {
    const which = prepared.model === undefined ? 'any model (its price table is empty)' : `the model \`${prepared.model}\``;
    throw new ProxyError('model_not_priced', `This endpoint enforces spend budgets and has no price for ${which}, so it cannot charge the request.`, prepared.model === undefined ? {} : { param: 'model' });
  }
  const estimate = estimateTokens({ route: spec.route, json: prepared.json, bodyBytes: prepared.bytes }, deps.config.limits.reservation);
  const reserved = await deps.limiter.reserve(callerKey(t.caller), chargeFor({ ...estimate, cachedInputTokens: 0 }, price));
  refuseIf(reserved, deps, t.caller, reply);
  t.estimate = estimate;
  t.reservation = reserved.reservation;
  t.reservedPrice = price;
}

/** Tracking is the mutable record of one request while it runs. */
interface Tracking {
  caller?: Caller;
  prepared?: Prepared;
  mode?: RequestMode;
  firstOutputAt?: number;
  releaseDigest?: string;
  relayed?: Relayed;
  /** incomplete says why the answer turned out short, once it did. */
  incomplete?: IncompleteReason;
  /** estimate and reservation are what the request holds against its limits while it runs. */
  estimate?: TokenEstimate;
  reservation?: Reservation;
  reservedPrice?: ModelPrice;
}

/** Running is one request between its admission (onRequest) and its answer (the handler). */
interface Running {
  readonly t: Tracking;
  readonly controller: AbortController;
  readonly finish: (error?: ProxyError) => void;
  readonly onFirstOutput: () => void;
}

/** InferenceRoute is a route's two halves: admission before the body is read, and the handler after. */
export interface InferenceRoute {
  readonly onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  readonly handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
}

/**
 * inferenceRoute serves one OpenAI route. Before the body is read (fastify's onRequest, which runs
 * ahead of body parsing) it authenticates and admits the caller, so a caller without credentials
 * or over its limits cannot make the proxy buffer a body. The handler then reads and shapes the
 * body (or keeps a client-sealed one), sends it through the provider (which fails closed without
 * attestation), streams the answer back through a metering tap, and records the outcome when the
 * caller's response closes. The caller leaving aborts the upstream request.
 */
export function inferenceRoute(spec: RouteSpec, deps: InferenceDeps): InferenceRoute {
  const running = new WeakMap<FastifyRequest, Running>();
  return {
    async onRequest(request, reply) {
      const run = begin(spec, deps, request, reply);
      running.set(request, run);
      try {
        run.t.caller = await deps.authenticator.authenticate(request.headers);
        await admit(deps, run.t.caller, reply);
      } catch (error) {
        const proxyError = error instanceof ProxyError ? error : new ProxyError('internal_error', undefined, { cause: error });
        run.finish(proxyError);
        refuseUnread(request, reply);
        throw proxyError;
      }
    },
    async handler(request, reply) {
      const run = running.get(request);
      if (run === undefined) throw new ProxyError('internal_error', 'the request was not admitted');
      try {
        return await serve(spec, deps, { request, reply, t: run.t, signal: run.controller.signal, onFirstOutput: run.onFirstOutput });
      } catch (error) {
        const proxyError = error instanceof ProxyError ? error : new ProxyError('internal_error', undefined, { cause: error });
        run.finish(proxyError);
        throw proxyError;
      }
    },
  };
}

/** UNREAD_BODY_DRAIN_BYTES is the largest unread body the proxy lets Node discard to keep a connection; past it the connection closes. */
const UNREAD_BODY_DRAIN_BYTES = 64 * 1024;

/**
 * refuseUnread makes a refusal given before the body was read close the connection when the body
 * may be large (or its length is unknown): keeping the connection would mean receiving and
 * discarding the whole body, which costs the proxy what the refusal is meant to spare it.
 */
export function refuseUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (request.raw.complete) return;
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  const chunked = request.headers['transfer-encoding'] !== undefined;
  if (chunked || !(declared <= UNREAD_BODY_DRAIN_BYTES)) void reply.header('connection', 'close');
}

/** heldBy is what a request reserved against its limits and what passed of its output, for its settlement. */
function heldBy(t: Tracking): Outcome['held'] {
  if (t.reservation === undefined || t.estimate === undefined) return undefined;
  return { reservation: t.reservation, estimate: t.estimate, price: t.reservedPrice, contentEvents: t.relayed?.contentEvents() ?? 0 };
}

/** outcomeOf is what is known of a request when its answer closed (or failed with `error`). */
function outcomeOf(spec: RouteSpec, t: Tracking, end: { reply: FastifyReply; error: ProxyError | undefined; started: number }): Outcome {
  const { reply, error, started } = end;
  return {
    spec, caller: t.caller, requestedModel: t.prepared?.model, upstreamModel: t.prepared?.upstreamModel, mode: t.mode, stream: t.prepared?.stream ?? false,
    status: error?.status ?? reply.statusCode, usage: t.relayed?.usage(), durationMs: performance.now() - started,
    firstOutputMs: t.firstOutputAt === undefined ? undefined : t.firstOutputAt - started,
    releaseDigest: t.releaseDigest, errorCode: error?.code, aborted: !reply.raw.writableFinished && error === undefined, incomplete: t.incomplete,
    held: heldBy(t),
  };
}

/** begin starts tracking a request: its span, in-flight gauge, abort on caller close, and the outcome record. */
function begin(spec: RouteSpec, deps: InferenceDeps, request: FastifyRequest, reply: FastifyReply): Running {
  const started = performance.now();
  const span = tracer.startSpan(`${spec.method} ${spec.path}`, { attributes: { 'http.route': spec.path, 'gen_ai.operation.name': spec.route } });
  const t: Tracking = {};
  const controller = new AbortController();
  deps.metrics.inFlightRequests.inc();
  let finished = false;
  const finish = (error?: ProxyError): void => {
    if (finished) return;
    finished = true;
    deps.metrics.inFlightRequests.dec();
    if (error instanceof UpstreamError) deps.metrics.upstreamErrors.inc({ kind: error.kind });
    void recordOutcome(outcomeOf(spec, t, { reply, error, started }), deps, { span, log: request.log }).catch((e: unknown) => { request.log.error({ err: e }, 'recording a request outcome failed'); });
  };
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
    finish();
  });
  const onFirstOutput = (): void => {
    t.firstOutputAt ??= performance.now();
  };
  return { t, controller, finish, onFirstOutput };
}

interface ServeContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly t: Tracking;
  readonly signal: AbortSignal;
  readonly onFirstOutput: () => void;
}

async function serve(spec: RouteSpec, deps: InferenceDeps, ctx: ServeContext): Promise<FastifyReply> {
  const { request, reply, t } = ctx;
  t.prepared = await prepare(spec, request, deps.config, deps.promptCacheSecret());
  await reserve(spec, deps, t, reply);
  const response = await deps.provider.send({
    method: spec.method,
    path: spec.path,
    headers: forwardableRequestHeaders(request.headers),
    body: t.prepared.body,
    passthrough: t.prepared.passthrough,
    signal: ctx.signal,
  });
  t.mode = response.mode;
  t.releaseDigest = response.releaseDigest;
  if (response.status >= 500) deps.metrics.upstreamErrors.inc({ kind: 'status_5xx' });
  // An un-nonced error relayed without EHBP authentication (EHBP §5.3); it may overlap status_5xx.
  if (response.unauthenticated === true) deps.metrics.upstreamErrors.inc({ kind: 'unauthenticated' });
  const answer = spec.route === 'models' ? await filterModelList(response, deps.config.models.allowed, deps.config.models.aliases) : response;
  const onIncomplete = incompleteReporter(spec, deps, request, t);
  t.relayed = relay(answer, { route: spec.route, hideUsageChunk: t.prepared.hideUsageChunk, onFirstOutput: ctx.onFirstOutput, onIncomplete });
  forwardTrailers(answer, reply);
  return reply.code(answer.status).headers(answer.headers).send(t.relayed.body);
}

/**
 * incompleteReporter counts and logs an answer that turned out short (its body then fails, so the
 * caller sees an error, never a clean end); the log line has metadata only, nothing of the answer.
 */
function incompleteReporter(spec: RouteSpec, deps: InferenceDeps, request: FastifyRequest, t: Tracking): (reason: IncompleteReason) => void {
  return (reason) => {
    t.incomplete = reason;
    deps.metrics.incompleteAnswers.inc({ route: spec.route, reason });
    request.log.warn({ route: spec.route, mode: t.mode, reason }, 'upstream answer incomplete');
  };
}

/** forwardTrailers relays the trailers an upstream announces (Tinfoil's usage) to a caller of a client-sealed stream. */
function forwardTrailers(response: ProviderResponse, reply: FastifyReply): void {
  if (response.mode !== 'passthrough') return;
  for (const name of response.announcedTrailers) {
    reply.trailer(name, (_reply, _payload, done) => {
      const value = response.trailers()[name];
      done(null, Array.isArray(value) ? value.join(', ') : value ?? '');
    });
  }
}
