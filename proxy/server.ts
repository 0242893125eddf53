import cors from '@fastify/cors';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ENCAPSULATED_KEY_HEADER, RESPONSE_NONCE_HEADER } from './ehbp/client.ts';
import { ProxyError } from './errors.ts';
import { TINFOIL_USAGE_HEADER } from './metering/tinfoil-usage.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { ROUTES } from './routes/catalogue.ts';
import { hpkeKeysRoute } from './routes/hpke-keys.ts';
import { inferenceRoute } from './routes/inference.ts';
import type { ProxyConfig } from './config/schema.ts';
import type { Runtime } from './runtime.ts';
import { UNAUTHENTICATED_HEADER } from './upstream/unauthenticated.ts';

/** RunningProxy is a listening proxy: the API and admin listeners, and how to stop them gracefully. */
export interface RunningProxy {
  readonly apiUrl: string;
  readonly adminUrl: string;
  readonly api: FastifyInstance;
  readonly admin: FastifyInstance;
  /** shutdown stops taking requests, lets in-flight ones (streams included) finish within the grace period, then closes. */
  shutdown(): Promise<void>;
}

/** toProxyError maps fastify's own failures (body limit, bad content) to the catalogue. */
function toProxyError(error: FastifyError | ProxyError): ProxyError {
  if (error instanceof ProxyError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProxyError('body_too_large', 'the request body exceeds the maximum size this endpoint accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProxyError('unsupported_media_type');
    default:
      return new ProxyError('internal_error', undefined, { cause: error });
  }
}

function sendError(error: FastifyError | ProxyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const proxyError = toProxyError(error);
  if (proxyError.status >= 500) request.log.warn({ code: proxyError.code, reason: proxyError.message, cause: (proxyError.cause as Error | undefined)?.message }, 'request failed');
  if (reply.sent) return reply;
  return reply.code(proxyError.status).headers(proxyError.headers).type('application/json').send(proxyError.body());
}

/** Lifecycle is the proxy's shutdown state, read by routes and probes. */
export interface Lifecycle {
  readonly draining: () => boolean;
}

// Each request is logged once, when it finishes, by the route (no bodies, no credentials).
const quietRequests = (): InstanceType<typeof LogController> => new LogController({ disableRequestLogging: true });

/**
 * listenerTimeouts bounds how long a caller may take to send a request, so slow senders cannot hold
 * connections and partly read bodies without end: Node's headersTimeout and requestTimeout (the
 * whole request, not the answer; answered 408 and closed) and an idle timeout on the socket. Node
 * checks the first two on an interval (30 s by default); one second keeps the deadlines close.
 */
function listenerTimeouts(timeouts: ProxyConfig['timeouts']): { requestTimeout: number; connectionTimeout: number; http: { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } } {
  const requestTimeout = timeouts.requestSeconds * 1000;
  // Node refuses a headersTimeout above the requestTimeout.
  const headersTimeout = Math.min(timeouts.headersSeconds * 1000, requestTimeout);
  return { requestTimeout, connectionTimeout: timeouts.idleSeconds * 1000, http: { requestTimeout, headersTimeout, connectionsCheckingInterval: 1000 } };
}

function buildApi(runtime: Runtime, logger: Logger, lifecycle: Lifecycle): FastifyInstance {
  const apiLogger: FastifyBaseLogger = logger.child({ listener: 'api' });
  const app = Fastify({
    loggerInstance: apiLogger,
    logController: quietRequests(),
    bodyLimit: runtime.config.maxBodyBytes,
    ...listenerTimeouts(runtime.config.timeouts),
    requestIdHeader: 'x-request-id',
    return503OnClosing: false,
  });
  // Bodies are read as bytes: a client-sealed body must pass untouched, and plaintext JSON is
  // parsed by the route so that malformed input gets an OpenAI-style error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  if (runtime.config.cors.enabled) {
    void app.register(cors, {
      origin: runtime.config.cors.allowedOrigins,
      exposedHeaders: [RESPONSE_NONCE_HEADER, TINFOIL_USAGE_HEADER, UNAUTHENTICATED_HEADER, 'x-request-id', 'retry-after', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
      allowedHeaders: ['authorization', 'content-type', ENCAPSULATED_KEY_HEADER, 'x-request-id', 'openai-beta'],
    });
  }
  // While draining, every answer tells its client to close the connection, and a response that
  // began before (its headers already sent) closes it once finished, unless another request
  // (pipelined) is still being answered on it: the client's next request then opens a new
  // connection, which the Service routes to another replica. A request that still arrives on a
  // connection being closed is dropped unread, so it cannot run upstream unanswered; its client
  // sees the connection close and may retry elsewhere.
  const open = new WeakMap<Socket, number>();
  app.addHook('onRequest', async (request, reply) => {
    const { socket } = request.raw;
    open.set(socket, (open.get(socket) ?? 0) + 1);
    if (!lifecycle.draining()) return;
    if (socket.writableEnded || socket.destroyed) {
      reply.hijack();
      socket.destroy();
      return;
    }
    void reply.header('connection', 'close');
  });
  app.addHook('onResponse', (request, _reply, done) => {
    const { socket } = request.raw;
    const left = (open.get(socket) ?? 1) - 1;
    open.set(socket, left);
    // destroySoon sends what is buffered, then closes (what Node does after a Connection: close answer).
    if (lifecycle.draining() && left === 0) socket.destroySoon();
    done();
  });
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => {
    const known = ROUTES.some((r) => r.path === request.url.split('?')[0]);
    const error = known ? new ProxyError('method_not_allowed', `${request.method} is not allowed on ${request.url}`) : new ProxyError('not_found', `no route ${request.method} ${request.url}`);
    return sendError(error, request, reply);
  });
  // Each route authenticates (and admits) its caller in onRequest, which fastify runs before it
  // reads the body, so a caller without credentials cannot make the proxy buffer one.
  for (const spec of ROUTES) app.route({ method: spec.method, url: spec.path, ...inferenceRoute(spec, runtime) });
  app.route({ method: 'GET', url: '/.well-known/hpke-keys', ...hpkeKeysRoute(runtime) });
  return app;
}

/**
 * gateReadiness holds `/readyz` at 503 until the upstream verified once or the first-verification
 * window passed (runtime.readiness, docs/adr/0013), so a Deployment's rollout keeps its verified
 * pods until the new ones verified, and kubelet starts an injected sidecar's app only then (its
 * startup probe is on `/readyz`). It runs before the route, which still answers draining itself;
 * `/healthz` stays liveness only.
 */
function gateReadiness(admin: FastifyInstance, runtime: Runtime, lifecycle: Lifecycle): void {
  admin.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== '/readyz' || lifecycle.draining()) return;
    const readiness = runtime.readiness();
    if (readiness.ready) return undefined;
    // Answered here, the route is skipped (fastify: a hook that sends returns the reply).
    return reply.code(503).send({ status: 'verifying', reason: readiness.reason });
  });
}

/** startProxy starts the API and admin listeners for a built runtime. */
export async function startProxy(runtime: Runtime, logger: Logger): Promise<RunningProxy> {
  let draining = false;
  const lifecycle: Lifecycle = { draining: () => draining };
  const api = buildApi(runtime, logger, lifecycle);
  const adminLogger: FastifyBaseLogger = logger.child({ listener: 'admin' });
  const admin = Fastify({ loggerInstance: adminLogger, logController: quietRequests() });
  gateReadiness(admin, runtime, lifecycle);
  registerAdminRoutes(admin, runtime, lifecycle);
  runtime.provider.start();
  const { config } = runtime;
  const apiUrl = await api.listen({ host: config.listen.host, port: config.listen.port });
  const adminUrl = await admin.listen({ host: config.admin.host, port: config.admin.port });
  logger.info({ apiUrl, adminUrl, provider: config.provider.type, trust: config.attestation.trust, endpoint: config.endpoint }, 'proxy listening');
  return {
    api, admin, apiUrl, adminUrl,
    async shutdown(): Promise<void> {
      draining = true;
      const deadline = setTimeout(() => {
        logger.warn('grace period over; closing open connections');
        api.server.closeAllConnections();
      }, config.shutdownGraceSeconds * 1000);
      deadline.unref();
      // The pod's endpoint leaves every node's Service routing some time after termination began,
      // and clients hold keep-alive connections: for a short window keep serving, so each client
      // learns to reconnect from an answer rather than from a refused or reset request.
      await sleep(config.shutdownDrainSeconds * 1000);
      // close() stops accepting and waits for in-flight requests and streams; connections that
      // finish their last response while draining would otherwise idle on keep-alive until it expires.
      const sweep = setInterval(() => api.server.closeIdleConnections(), 100);
      await api.close();
      clearInterval(sweep);
      clearTimeout(deadline);
      await runtime.close();
      await admin.close();
    },
  };
}
