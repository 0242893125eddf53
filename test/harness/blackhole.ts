import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';

/** Blackhole is a loopback TCP listener that accepts connections and never answers, recording when each opened and closed. */
export interface Blackhole {
  readonly url: string;
  readonly accepted: readonly number[];
  readonly closed: readonly number[];
  close(): Promise<void>;
}

/**
 * startBlackhole listens on 127.0.0.1 and holds every connection open without a byte of answer,
 * as a firewall that drops packets after the handshake does: the client waits for its own timeout.
 */
export async function startBlackhole(): Promise<Blackhole> {
  const accepted: number[] = [];
  const closed: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    accepted.push(Date.now());
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed.push(Date.now());
      sockets.delete(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return {
    url: `http://127.0.0.1:${String(address.port)}`,
    accepted,
    closed,
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
