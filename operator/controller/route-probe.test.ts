import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpRouteProbe } from './route-probe.ts';

describe('tcpRouteProbe', () => {
  let server: Server;
  let port = 0;
  let received = 0;
  beforeAll(async () => {
    server = createServer((socket) => socket.on('data', (chunk) => { received += chunk.length; }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('says a connection went through, sending nothing', async () => {
    expect(await tcpRouteProbe('127.0.0.1', port)).toBe(true);
    expect(received).toBe(0);
  });

  it('says no for a refused port, without throwing', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freed = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await tcpRouteProbe('127.0.0.1', freed)).toBe(false);
  });
});
