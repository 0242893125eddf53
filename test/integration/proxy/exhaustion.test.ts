import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callSimulator, startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

const MiB = 1024 * 1024;

/** SlowUpload is a raw connection that announced a large body and sent only part of it. */
interface SlowUpload {
  readonly socket: Socket;
  /** answer resolves with the status line the proxy sent, or `closed` when it closed without one. */
  readonly answer: Promise<string>;
}

/** slowUpload announces `announced` bytes of body, writes `chunk` and then stalls, as a hostile caller does. */
function slowUpload(apiUrl: string, authorization: string, announced: number, chunk: Buffer): SlowUpload {
  const { hostname, port } = new URL(apiUrl);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined); // the proxy closing on a caller mid-upload resets the connection
  const answer = new Promise<string>((resolve) => {
    let received = '';
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      const line = received.split('\r\n')[0] ?? '';
      if (received.includes('\r\n')) resolve(line);
    });
    socket.on('close', () => resolve(received.split('\r\n')[0] || 'closed'));
  });
  socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: ${authorization}\r\ncontent-type: application/json\r\ncontent-length: ${String(announced)}\r\n\r\n`);
  socket.write(chunk);
  return { socket, answer };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([promise, new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), ms).unref())]);
}

describe('a caller cannot make the proxy hold request bodies', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  let keysDir: string;
  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    keysDir = await mkdtemp(join(tmpdir(), 'aio-keys-'));
    await writeFile(join(keysDir, 'team-a'), 'key-of-team-a');
    proxy = await startTestProxy(simulatorConfig(simulator, { auth: { mode: 'static-keys', staticKeysFile: keysDir }, timeouts: { requestSeconds: 2 } }));
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
    await rm(keysDir, { recursive: true, force: true });
  });

  it('answers 50 slow uploads without valid credentials 401 before reading their bodies, and its memory stays flat', async () => {
    // One shared buffer: the callers' side holds 8 MiB in all, so what grows is what the proxy keeps.
    const chunk = Buffer.alloc(8 * MiB, 0x20);
    const before = process.memoryUsage().rss;
    const uploads = Array.from({ length: 50 }, () => slowUpload(proxy.apiUrl, 'Bearer not-a-key', 24 * MiB, chunk));
    try {
      const answers = await Promise.all(uploads.map((u) => within(u.answer, 10_000)));
      const grown = process.memoryUsage().rss - before;
      // Buffered, the bodies would add 400 MiB; the bound leaves room for the test's own allocations.
      expect(grown).toBeLessThan(150 * MiB);
      expect(answers.every((a) => a.startsWith('HTTP/1.1 401'))).toBe(true);
    } finally {
      for (const u of uploads) u.socket.destroy();
    }
  });

  it('cuts an authenticated caller whose body does not arrive by the request deadline', async () => {
    const upload = slowUpload(proxy.apiUrl, 'Bearer key-of-team-a', 4096, Buffer.from('{"model":'));
    try {
      const started = Date.now();
      const answer = await within(upload.answer, 8000);
      expect(answer).not.toBe('timed out');
      expect(answer === 'closed' || answer.startsWith('HTTP/1.1 408')).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    } finally {
      upload.socket.destroy();
    }
  });
});

describe('pass-through answers cannot make the proxy hammer the attestation service', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator));
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });

  it('100 client-sealed requests answered 422 key-config cause at most one re-attestation', async () => {
    const stale = simulator.keyConfig;
    await simulator.rotateKey();
    simulator.clearRequests();
    const body = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'junk' }] });
    for (let i = 0; i < 100; i++) {
      const reply = await callSimulator(proxy.apiUrl, { path: '/v1/chat/completions', body, keyConfig: stale, headers: { 'content-type': 'application/json' } });
      expect(reply.status).toBe(422);
    }
    await new Promise((r) => setTimeout(r, 200));
    const verifications = simulator.requests().filter((r) => r.path === '/attestation').length;
    expect(verifications).toBeLessThanOrEqual(1);
  });
});

describe('the HPKE key relay', () => {
  let simulator: EnclaveSimulator;
  let front: Server;
  let proxy: TestProxy;
  let keysDir: string;
  let hugeKeys = false;
  beforeAll(async () => {
    // A front that relays to the simulator, except that it can answer the key configuration with
    // bytes without end, as a broken or hostile upstream could.
    front = createServer((req, res) => {
      if (hugeKeys && req.url === '/.well-known/hpke-keys') {
        res.writeHead(200, { 'content-type': 'application/ohttp-keys' });
        const block = Buffer.alloc(MiB);
        const pump = (): void => {
          while (!res.destroyed && res.write(block));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
      const upstream = request(new URL(req.url ?? '/', simulator.url), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    const frontHost = `127.0.0.1:${String((front.address() as AddressInfo).port)}`;
    const frontUrl = `http://${frontHost}`;
    // The attestation binds the host the proxy sends to: the front's.
    simulator = await startEnclaveSimulator({ domain: frontHost });
    keysDir = await mkdtemp(join(tmpdir(), 'aio-keys-'));
    await writeFile(join(keysDir, 'team-a'), 'key-of-team-a');
    proxy = await startTestProxy(simulatorConfig(simulator, { provider: { upstreamUrl: frontUrl }, auth: { mode: 'static-keys', staticKeysFile: keysDir } }));
  });
  afterAll(async () => {
    await proxy.close();
    front.closeAllConnections();
    front.close();
    await simulator.close();
    await rm(keysDir, { recursive: true, force: true });
  });

  it('refuses a caller without valid credentials when authentication is on', async () => {
    const anonymous = await fetch(`${proxy.apiUrl}/.well-known/hpke-keys`);
    expect(anonymous.status).toBe(401);
    const known = await fetch(`${proxy.apiUrl}/.well-known/hpke-keys`, { headers: { authorization: 'Bearer key-of-team-a' } });
    expect(known.status).toBe(200);
    expect(Buffer.from(await known.arrayBuffer()).equals(Buffer.from(simulator.keyConfig))).toBe(true);
  });

  it('stops reading an upstream key configuration larger than any real one', async () => {
    hugeKeys = true;
    try {
      const answer = await within(fetch(`${proxy.apiUrl}/.well-known/hpke-keys`, { headers: { authorization: 'Bearer key-of-team-a' } }), 10_000);
      expect(answer).not.toBe('timed out');
      const response = answer as Response;
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_protocol_error');
    } finally {
      hugeKeys = false;
    }
  });
});
