import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Backend is one process behind the balancer: where its traffic goes and the readiness URL that decides whether it gets new connections. */
export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly readyUrl: string;
}

/** TcpBalancer is a loopback address in front of several backends. */
export interface TcpBalancer {
  readonly port: number;
  /** add puts a backend behind the balancer (it gets connections once its readiness URL answers). */
  add(backend: Backend): Promise<void>;
  /** routed lists the backends that currently get new connections. */
  routed(): string[];
  /** connections counts the connections handed to each backend so far. */
  connections(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * startTcpBalancer stands in for a Service in front of the operator's replicas: a loopback TCP
 * listener that spreads new connections over the backends whose readiness URL answers 2xx, polled
 * every `probeMs` (kube-proxy drops an endpoint once its pod is not ready). As with kube-proxy, an
 * open connection stays with its backend until one side closes it, and a connection to a backend
 * that refuses is not retried elsewhere: the caller sees the failure.
 */
export async function startTcpBalancer(options: { probeMs?: number } = {}): Promise<TcpBalancer> {
  const backends: Backend[] = [];
  const ready = new Set<string>();
  const counts: Record<string, number> = {};
  const sockets = new Set<Socket>();
  let next = 0;
  let closed = false;
  const probe = async (): Promise<void> => {
    await Promise.all(backends.map(async (b) => {
      const ok = await fetch(b.readyUrl, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ok) ready.add(b.name);
      else ready.delete(b.name);
    }));
  };
  const timer = setInterval(() => void probe(), options.probeMs ?? 250);
  const server: Server = createServer((client) => {
    const routed = backends.filter((b) => ready.has(b.name));
    const target = routed[next++ % Math.max(routed.length, 1)];
    if (target === undefined || closed) {
      client.destroy();
      return;
    }
    counts[target.name] = (counts[target.name] ?? 0) + 1;
    const upstream = connect(target.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    add: async (backend) => {
      backends.push(backend);
      counts[backend.name] = 0;
      await probe();
    },
    routed: () => backends.filter((b) => ready.has(b.name)).map((b) => b.name),
    connections: () => ({ ...counts }),
    close: async () => {
      closed = true;
      clearInterval(timer);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
