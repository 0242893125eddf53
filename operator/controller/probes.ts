import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** ProbeChecks answer the two probes; `ready` is the Manager's isReady (caches synced, leader or not). */
export interface ProbeChecks {
  readonly ready: () => boolean;
  /** healthy defaults to "the event loop answers"; add a check only for a state restarting would cure. */
  readonly healthy?: () => boolean;
}

/** ProbeServerDeps are the probe server's collaborators. */
export interface ProbeServerDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly checks: ProbeChecks;
}

/** ProbeServerOptions say where to listen; port 0 picks a free one (tests). */
export interface ProbeServerOptions {
  readonly port: number;
  readonly host?: string;
}

/** ProbeServer is a running probe server. */
export interface ProbeServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * startProbeServer serves `/healthz` (the process is alive), `/readyz` (caches synced; a follower
 * replica is ready too, so rollouts do not wait on leadership) and `/metrics` from the registry.
 * node:http is enough for three GET routes and keeps the probes independent of any app server.
 */
export async function startProbeServer(deps: ProbeServerDeps, options: ProbeServerOptions): Promise<ProbeServer> {
  const server = createServer((request, response) => {
    void handle(deps, request, response).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'probe request failed');
      if (!response.headersSent) reply(response, { status: 500, body: 'internal error\n' });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return { port, url: `http://${urlHost(options.host)}:${port}`, close: () => close(server) };
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

type Route = (deps: ProbeServerDeps) => Answer | Promise<Answer>;

const ROUTES: Readonly<Record<string, Route>> = {
  '/healthz': (deps) => (deps.checks.healthy?.() ?? true ? { status: 200, body: 'ok\n' } : { status: 503, body: 'unhealthy\n' }),
  '/readyz': (deps) => (deps.checks.ready() ? { status: 200, body: 'ok\n' } : { status: 503, body: 'caches not synced\n' }),
  '/metrics': async (deps) => ({ status: 200, body: await deps.registry.metrics(), contentType: deps.registry.contentType }),
};

async function handle(deps: ProbeServerDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    reply(response, { status: 405, body: 'method not allowed\n' }, { allow: 'GET, HEAD' });
    return;
  }
  const route = ROUTES[new URL(request.url ?? '/', 'http://probe').pathname];
  reply(response, route === undefined ? { status: 404, body: 'not found\n' } : await route(deps));
}

function reply(response: ServerResponse, answer: Answer, headers: Record<string, string> = {}): void {
  const contentType = answer.contentType ?? 'text/plain; charset=utf-8';
  response.writeHead(answer.status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : answer.body);
}

// A wildcard listen address is reachable on loopback; tests and logs want a URL they can call.
function urlHost(host: string | undefined): string {
  if (host === undefined || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error === undefined ? resolve() : reject(error)));
    // Probe clients (kubelet, Prometheus) keep connections alive; do not wait for them to leave.
    server.closeIdleConnections();
  });
}
