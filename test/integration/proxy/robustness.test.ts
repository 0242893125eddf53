import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

interface KeptAliveAnswer {
  readonly status: number;
  readonly reused: boolean;
  readonly connection: string | undefined;
  readonly body: string;
  readonly socket: Socket;
}

/** keptAliveChat posts a chat completion through `agent`, telling whether it reused a connection. */
function keptAliveChat(agent: Agent, apiUrl: string, stream = false): Promise<KeptAliveAnswer> {
  const body = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'a b c' }], stream });
  return new Promise((resolve, reject) => {
    const req = request(`${apiUrl}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const { socket } = res;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, connection: res.headers.connection, body: Buffer.concat(chunks).toString('utf8'), socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<{ status: number; json: { error?: { code: string; message: string; type: string; param: string | null } }; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, json: (await response.json()) as never, headers: response.headers };
}

describe('bad input gets a clear OpenAI-style error', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator, { models: { allowed: ['llama3-3-70b'] }, maxBodyBytes: 4096 }));
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });

  it('malformed JSON → 400 invalid_json', async () => {
    const r = await post(`${proxy.apiUrl}/v1/chat/completions`, '{"model": ');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'invalid_json', type: 'invalid_request_error' });
  });

  it('missing model → 400 naming the parameter', async () => {
    const r = await post(`${proxy.apiUrl}/v1/chat/completions`, '{"messages":[]}');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'invalid_request', param: 'model' });
  });

  it('a model off the allow-list → 404 naming the model, nothing sent', async () => {
    simulator.clearRequests();
    const r = await post(`${proxy.apiUrl}/v1/chat/completions`, '{"model":"gpt-oss-120b","messages":[]}');
    expect(r.status).toBe(404);
    expect(r.json.error?.code).toBe('model_not_found');
    expect(r.json.error?.message).toContain('gpt-oss-120b');
    expect(simulator.requests().filter((x) => x.path.startsWith('/v1/'))).toEqual([]);
  });

  it('a body over the limit → 413', async () => {
    const r = await post(`${proxy.apiUrl}/v1/chat/completions`, JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }));
    expect(r.status).toBe(413);
    expect(r.json.error?.code).toBe('body_too_large');
  });

  it('unknown routes and methods → 404 / 405', async () => {
    expect((await post(`${proxy.apiUrl}/v1/nope`, '{}')).json.error?.code).toBe('not_found');
    const r = await fetch(`${proxy.apiUrl}/v1/chat/completions`);
    expect(r.status).toBe(405);
  });

  it('lists only allowed models', async () => {
    const client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['llama3-3-70b']);
  });
});

describe('upstream failures and shutdown', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy | undefined;
  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
  });
  afterEach(async () => {
    simulator.reset();
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => simulator.close());

  const chat = (p: TestProxy, stream = false): Promise<Response> =>
    fetch(`${p.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'a b c' }], stream }) });

  it('an upstream that does not answer in time → 504 upstream_timeout', async () => {
    proxy = await startTestProxy(simulatorConfig(simulator, { provider: { timeoutMs: 1000 } }));
    simulator.slowResponses({ firstByteMs: 2500 });
    const response = await chat(proxy);
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    expect(metricValue(await proxy.metrics(), 'attested_inference_upstream_errors_total', { kind: 'timeout' })).toBe(1);
  });

  it('an upstream that went away → one re-attestation and retry, then 502 upstream_unreachable', async () => {
    const gone = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(gone));
    await gone.close();
    const response = await chat(proxy);
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable');
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_upstream_errors_total', { kind: 'unreachable' })).toBe(1);
    expect(metricValue(metrics, 'attested_inference_attestation_verifications_total', { result: 'failure', step: 'fetch' })).toBe(1);
    expect(proxy.logs().some((l) => l.includes('re-attesting and retrying once'))).toBe(true);
  });

  it('a caller that leaves aborts the upstream request', async () => {
    proxy = await startTestProxy(simulatorConfig(simulator));
    simulator.slowResponses({ chunkMs: 200 });
    const controller = new AbortController();
    const response = await fetch(`${proxy.apiUrl}/v1/chat/completions`, { method: 'POST', signal: controller.signal, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }], stream: true }) });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    for (let i = 0; i < 50 && metricValue(await proxy.metrics(), 'attested_inference_in_flight_requests') !== 0; i++) await sleep(50);
    expect(metricValue(await proxy.metrics(), 'attested_inference_in_flight_requests')).toBe(0);
    const line = proxy.logs().map((l) => JSON.parse(l) as { msg: string; aborted?: boolean }).find((l) => l.msg === 'request finished');
    expect(line?.aborted).toBe(true);
  });

  it('a stream cut by the upstream ends the caller stream with an error, not a clean end', async () => {
    proxy = await startTestProxy(simulatorConfig(simulator));
    simulator.cutResponses({ afterChunks: 2 });
    const response = await chat(proxy, true);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
  });

  it('drains an in-flight stream on shutdown before closing', async () => {
    const p = await startTestProxy(simulatorConfig(simulator));
    simulator.slowResponses({ chunkMs: 100 });
    const response = await chat(p, true);
    const text = response.text();
    await sleep(150);
    const shutdown = p.close();
    expect(await text).toContain('data: [DONE]');
    await shutdown;
    await expect(chat(p)).rejects.toThrow();
  });

  it('while draining, answers a request pipelined behind a stream that began before, then closes', async () => {
    const p = await startTestProxy(simulatorConfig(simulator, { shutdownDrainSeconds: 1 }));
    simulator.slowResponses({ chunkMs: 50 });
    simulator.clearRequests();
    const { port } = new URL(p.apiUrl);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = once(socket, 'close');
    const post = (stream: boolean): string => {
      const body = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'a b c' }], stream });
      return `POST /v1/chat/completions HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\ncontent-length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`;
    };
    socket.write(post(true));
    await sleep(150);
    const shutdown = p.close();
    // A second stream, pipelined while the first (begun before the drain, so without Connection:
    // close) still runs: it is still streaming when the first one ends.
    socket.write(post(true));
    await closed;
    const text = Buffer.concat(received).toString('utf8');
    expect(text.match(/data: \[DONE\]/g)).toHaveLength(2);
    // The second request ran upstream, so it must be answered in full before the connection closes.
    expect(simulator.requests().filter((r) => r.path === '/v1/chat/completions')).toHaveLength(2);
    expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    expect(text).toMatch(/connection: close/i);
    await shutdown;
  });

  it('while draining, answers requests on kept-alive connections and tells their clients to reconnect', async () => {
    const p = await startTestProxy(simulatorConfig(simulator, { shutdownDrainSeconds: 1 }));
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });
    const streaming = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await keptAliveChat(idle, p.apiUrl)).status).toBe(200);
      simulator.slowResponses({ chunkMs: 100 });
      const stream = keptAliveChat(streaming, p.apiUrl, true);
      await sleep(150);
      const shutdown = p.close();
      // The stream began before the drain: it finishes, then its connection is closed by the proxy.
      const streamed = await stream;
      expect(streamed).toMatchObject({ status: 200, reused: false });
      expect(streamed.body).toContain('data: [DONE]');
      if (!streamed.socket.closed) await once(streamed.socket, 'close');
      // Still inside the drain window, a request on the other kept-alive connection is served and
      // told to close (before, it got 503 shutting_down; after the window, the connection is gone).
      simulator.reset();
      expect(await keptAliveChat(idle, p.apiUrl)).toMatchObject({ status: 200, reused: true, connection: 'close' });
      await shutdown;
    } finally {
      idle.destroy();
      streaming.destroy();
    }
  });
});

describe('callers and limits', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  let keysDir: string;
  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    keysDir = await mkdtemp(join(tmpdir(), 'aio-keys-'));
    await writeFile(join(keysDir, 'team-a'), 'key-of-team-a');
    proxy = await startTestProxy(simulatorConfig(simulator, { auth: { mode: 'static-keys', staticKeysFile: keysDir }, limits: { requestsPerMinute: 2 } }));
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
    await rm(keysDir, { recursive: true, force: true });
  });

  it('refuses unknown keys with 401, admits known ones, and rate limits them with OpenAI headers', async () => {
    const body = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] });
    const bad = await post(`${proxy.apiUrl}/v1/chat/completions`, body, { 'content-type': 'application/json', authorization: 'Bearer wrong' });
    expect(bad.status).toBe(401);
    expect(bad.json.error?.code).toBe('invalid_api_key');
    const headers = { 'content-type': 'application/json', authorization: 'Bearer key-of-team-a' };
    const first = await post(`${proxy.apiUrl}/v1/chat/completions`, body, headers);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect((await post(`${proxy.apiUrl}/v1/chat/completions`, body, headers)).status).toBe(200);
    const limited = await post(`${proxy.apiUrl}/v1/chat/completions`, body, headers);
    expect(limited.status).toBe(429);
    expect(limited.json.error?.code).toBe('rate_limit_exceeded');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_rate_limited_total', { caller: 'key:team-a', limit: 'requests' })).toBe(1);
    expect(metricValue(metrics, 'attested_inference_requests_total', { caller: 'key:team-a', status_code: '200' })).toBe(2);
    expect(metrics).not.toContain('key-of-team-a');
  });
});
