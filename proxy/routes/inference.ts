import { performance } from 'node:perf_hooks';
import { trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller, CallerAuthenticator } from '../auth/types.ts';
import type { ProxyConfig } from '../config/schema.ts';
import { ENCAPSULATED_KEY_HEADER } from '../ehbp/client.ts';
import { ProxyError } from '../errors.ts';
import { refusalError } from '../limits/limiter.ts';
import type { RateLimiter } from '../limits/types.ts';
import type { ProxyMetrics } from '../metering/metrics.ts';
import { ensureStreamUsage, injectPromptCacheSecret } from '../metering/request-shaping.ts';
import { forwardableRequestHeaders, UpstreamError } from '../upstream/http.ts';
import type { Provider, ProviderResponse, RequestMode } from '../upstream/provider.ts';
import type { RouteSpec } from './catalogue.ts';
import { filterModelList } from './models.ts';
import { callerKey, recordOutcome } from './outcome.ts';
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
  readonly model: string | undefined;
  readonly stream: boolean;
  readonly hideUsageChunk: boolean;
}

function checkAllowed(model: string | undefined, allowed: readonly string[]): void {
  if (model !== undefined && allowed.length > 0 && !allowed.includes(model)) {
    throw new ProxyError('model_not_found', `The model \`${model}\` does not exist or you do not have access to it.`, { param: 'model' });
  }
}

/** prepare reads and shapes the request body; a client-sealed (EHBP) body is left as it is. */
async function prepare(spec: RouteSpec, request: FastifyRequest, config: ProxyConfig, cacheSecret: string | undefined): Promise<Prepared> {
  const raw = Buffer.isBuffer(request.body) ? request.body : undefined;
  if (request.headers[ENCAPSULATED_KEY_HEADER.toLowerCase()] !== undefined) {
    if (!config.passthrough.enabled) throw new ProxyError('passthrough_not_allowed');
    return { body: raw, passthrough: true, model: undefined, stream: false, hideUsageChunk: false };
  }
  const plain = await readPlainRequest(spec, raw, request.headers['content-type']);
  checkAllowed(plain.model, config.models.allowed);
  if (plain.json === undefined || spec.route === 'models' || spec.route === 'audio/transcriptions') {
    return { body: raw, passthrough: false, model: plain.model, stream: plain.stream, hideUsageChunk: false };
  }
  const withUsage = ensureStreamUsage(plain.json, spec.route);
  const shaped = cacheSecret === undefined ? withUsage : injectPromptCacheSecret(withUsage.body, spec.route, cacheSecret);
  const changed = withUsage.injected || shaped.injected;
  return {
    body: changed ? Buffer.from(JSON.stringify(shaped.body)) : raw,
    passthrough: false,
    model: plain.model,
    stream: plain.stream,
    hideUsageChunk: withUsage.injected,
  };
}

async function admit(deps: InferenceDeps, caller: Caller, reply: FastifyReply): Promise<void> {
  const admission = await deps.limiter.admit(callerKey(caller));
  void reply.headers(admission.headers);
  if (!admission.allowed) {
    deps.metrics.rateLimited.inc({ caller: caller.label, caller_namespace: caller.namespace ?? '', limit: admission.limit ?? 'requests', scope: admission.scope ?? 'caller' });
    throw refusalError(admission, deps.config.prices.currency);
  }
}

/** Tracking is the mutable record of one request while it runs. */
interface Tracking {
  caller?: Caller;
  prepared?: Prepared;
  mode?: RequestMode;
  firstOutputAt?: number;
  releaseDigest?: string;
  relayed?: Relayed;
}

/**
 * inferenceHandler serves one OpenAI route: authenticate, admit, read and shape the body (or keep a
 * client-sealed one), send it through the provider (which fails closed without attestation),
 * stream the answer back through a metering tap, and record the outcome when the caller's response
 * closes. The caller leaving aborts the upstream request.
 */
export function inferenceHandler(spec: RouteSpec, deps: InferenceDeps): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async (request, reply) => {
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
      const aborted = !reply.raw.writableFinished && error === undefined;
      if (error instanceof UpstreamError) deps.metrics.upstreamErrors.inc({ kind: error.kind });
      void recordOutcome(
        {
          spec, caller: t.caller, requestedModel: t.prepared?.model, mode: t.mode, stream: t.prepared?.stream ?? false,
          status: error?.status ?? reply.statusCode, usage: t.relayed?.usage(), durationMs: performance.now() - started,
          firstOutputMs: t.firstOutputAt === undefined ? undefined : t.firstOutputAt - started,
          releaseDigest: t.releaseDigest, errorCode: error?.code, aborted,
        },
        deps,
        { span, log: request.log },
      ).catch((e: unknown) => { request.log.error({ err: e }, 'recording a request outcome failed'); });
    };
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
      finish();
    });
    const onFirstOutput = (): void => {
      t.firstOutputAt ??= performance.now();
    };
    try {
      return await serve(spec, deps, { request, reply, t, signal: controller.signal, onFirstOutput });
    } catch (error) {
      const proxyError = error instanceof ProxyError ? error : new ProxyError('internal_error', undefined, { cause: error });
      finish(proxyError);
      throw proxyError;
    }
  };
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
  t.caller = await deps.authenticator.authenticate(request.headers);
  await admit(deps, t.caller, reply);
  t.prepared = await prepare(spec, request, deps.config, deps.promptCacheSecret());
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
  const answer = spec.route === 'models' ? await filterModelList(response, deps.config.models.allowed) : response;
  t.relayed = relay(answer, { route: spec.route, hideUsageChunk: t.prepared.hideUsageChunk, onFirstOutput: ctx.onFirstOutput });
  forwardTrailers(answer, reply);
  return reply.code(answer.status).headers(answer.headers).send(t.relayed.body);
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
