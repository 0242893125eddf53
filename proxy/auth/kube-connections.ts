import { createHash } from 'node:crypto';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

/** The part of client-node's KubeConfig this module replaces (private in its typings). */
interface DispatcherFactory {
  createDispatcher(cluster: Cluster | null, options: Record<string, unknown>): unknown;
}

const TLS_FIELDS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function keyOf(cluster: Cluster | null, options: Record<string, unknown>): string {
  const hash = createHash('sha256').update(cluster?.server ?? '').update(cluster?.proxyUrl ?? '');
  for (const field of TLS_FIELDS) {
    const value = options[field];
    hash.update(`\0${field}=`).update(value instanceof Uint8Array ? value : JSON.stringify(value ?? null));
  }
  return hash.digest('hex');
}

/**
 * shareConnections makes every request of `kc` reuse one connection pool per server and TLS
 * identity. client-node 2 builds a new undici Agent for every request, so each request opens a
 * fresh TLS connection that then idles until its keep-alive runs out: hundreds of sockets and a
 * handshake per request once an operator gets busy. A rotated client certificate or CA gets a
 * new pool, and the one it replaces is closed once its requests (watches included) end. This
 * patches a method client-node keeps private; test/integration/operator/kube-connections.test.ts
 * fails if it goes away.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const factory = kc as unknown as DispatcherFactory;
  if (typeof factory.createDispatcher !== 'function') throw new Error('@kubernetes/client-node no longer builds dispatchers with createDispatcher');
  const create = factory.createDispatcher.bind(kc);
  const pools = new Map<string, { readonly identity: string; readonly dispatcher: unknown }>();
  factory.createDispatcher = (cluster, options) => {
    const server = cluster?.server ?? '';
    const identity = keyOf(cluster, options);
    const current = pools.get(server);
    if (current?.identity === identity) return current.dispatcher;
    const dispatcher = create(cluster, options);
    pools.set(server, { identity, dispatcher });
    void (current?.dispatcher as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => undefined);
    return dispatcher;
  };
  return kc;
}
