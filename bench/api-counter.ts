import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * A counting pass-through between the operator and the kube-apiserver: the operator gets a
 * kubeconfig naming a plain-http loopback address, and every request it makes is counted by verb
 * and resource before it goes on, with the admin client certificate, to the real API server. The
 * counts are the operator's own, whatever other components (kube-controller-manager, scheduler,
 * kwok) do at the same time, which `apiserver_request_total` cannot tell apart.
 */

/** RequestCounts maps "verb resource[/subresource]" (e.g. "patch deployments") to a count. */
export type RequestCounts = Readonly<Record<string, number>>;

/** ApiCounter is a running pass-through. */
export interface ApiCounter {
  /** kubeconfigPath is the operator's kubeconfig, pointing at the pass-through. */
  readonly kubeconfigPath: string;
  counts(): RequestCounts;
  stop(): Promise<void>;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

function verbOf(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET': return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return named ? 'delete' : 'deletecollection';
    default: return method.toLowerCase();
  }
}

/** requestKey names a Kubernetes API request as "verb resource[/subresource]"; other paths as "GET /path". */
export function requestKey(method: string, rawUrl: string): string {
  const url = new URL(rawUrl, 'http://x');
  const parts = url.pathname.split('/').filter((p) => p !== '');
  const start = parts[0] === 'api' ? 2 : parts[0] === 'apis' ? 3 : -1;
  if (start < 0 || parts.length <= start) return `${method} ${url.pathname}`;
  let rest = parts.slice(start);
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  const verb = verbOf(method, name !== undefined, url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1');
  return `${verb} ${resource ?? ''}${sub === undefined ? '' : `/${sub}`}`;
}

/** isWrite tells a counted key that changes state. */
export function isWrite(key: string): boolean {
  return WRITE_VERBS.has(key.split(' ')[0] ?? '');
}

/** diffCounts is `after - before`, keeping non-zero keys. */
export function diffCounts(after: RequestCounts, before: RequestCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

function forwarder(target: URL, agent: Agent, count: (key: string) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    count(requestKey(req.method ?? 'GET', req.url ?? '/'));
    const headers = { ...req.headers, host: target.host };
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // A watch with nothing to report yet still answers its headers at once.
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(error));
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  };
}

/** startApiCounter serves the pass-through for `kc`'s current cluster and user (client certificate). */
export async function startApiCounter(kc: KubeConfig, kubeconfigPath: string): Promise<ApiCounter> {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (cluster === null || user?.certData === undefined || user.keyData === undefined) throw new Error('the API counter needs a kubeconfig with a client certificate');
  const decode = (b64: string | undefined): Buffer | undefined => (b64 === undefined ? undefined : Buffer.from(b64, 'base64'));
  const agent = new Agent({ keepAlive: true, ca: decode(cluster.caData), cert: decode(user.certData), key: decode(user.keyData) });
  const counts: Record<string, number> = {};
  const server = createServer(forwarder(new URL(cluster.server), agent, (key) => {
    counts[key] = (counts[key] ?? 0) + 1;
  }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  writeFileSync(kubeconfigPath, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'counted',
    // client-node refuses an http server unless TLS verification is off; there is no TLS to verify.
    clusters: [{ name: 'counted', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'counted', user: {} }],
    contexts: [{ name: 'counted', context: { cluster: 'counted', user: 'counted' } }],
  }), { mode: 0o600 });
  return {
    kubeconfigPath,
    counts: () => ({ ...counts }),
    stop(): Promise<void> {
      server.closeAllConnections();
      server.close();
      agent.destroy();
      return Promise.resolve();
    },
  };
}
