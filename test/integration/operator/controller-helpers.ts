import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';

/** quietLogger is a silent logger; AIO_TEST_LOG=debug shows the runtime's lines. */
export function quietLogger(): Logger {
  return pino({ level: process.env.AIO_TEST_LOG ?? 'silent' });
}

/** FlakyProxy is a TCP relay to the API server that a test can cut, to break watches from outside the client. */
export interface FlakyProxy {
  readonly server: string;
  /** down destroys every open connection and refuses new ones until `up`. */
  down(): void;
  up(): void;
  /** accepted counts the connections relayed so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** startFlakyProxy relays 127.0.0.1:<port> to `target` (an https URL); TLS passes through untouched. */
export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let refusing = false;
  let accepted = 0;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    accepted += 1;
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    server: `https://127.0.0.1:${address.port}`,
    down: () => {
      refusing = true;
      // resetAndDestroy sends an RST, as a dropped network path or a restarted API server would.
      for (const socket of sockets) socket.resetAndDestroy();
    },
    up: () => {
      refusing = false;
    },
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** kubeConfigVia copies `kc` with its current cluster's server replaced (to route through a FlakyProxy). */
export function kubeConfigVia(kc: KubeConfig, server: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return copy;
}

/** eventually retries `check` every 100 ms until it stops throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
