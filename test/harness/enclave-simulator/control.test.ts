import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callSimulator, SimulatorCallError } from './client.ts';
import { startEnclaveSimulator, USAGE_METRICS_HEADER, USAGE_METRICS_REQUEST_HEADER, type EnclaveSimulator, type RecordedRequest } from './index.ts';

let sim: EnclaveSimulator;

beforeAll(async () => {
  sim = await startEnclaveSimulator({ completionTexts: { '*': 'alpha beta gamma' } });
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.clearRequests();
});

const json = { 'content-type': 'application/json' };
const metrics = { ...json, [USAGE_METRICS_REQUEST_HEADER]: 'true' };
const chatBody = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'one two three four' }], ...extra });

async function controlCall(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL(path, sim.url), { method, headers: { ...json, ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('Tinfoil usage metrics', () => {
  it('reports a document answer in a cleartext header, when asked', async () => {
    for (const encrypt of [true, false]) {
      const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), headers: metrics, encrypt });
      expect(reply.headers[USAGE_METRICS_HEADER.toLowerCase()]).toBe('prompt=4,completion=3,total=7,model=llama3-3-70b');
    }
    const unasked = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), headers: json });
    expect(unasked.headers[USAGE_METRICS_HEADER.toLowerCase()]).toBeUndefined();
  });

  it('splits cached tokens when some are cached', async () => {
    sim.setUsage({ cachedTokens: 3 });
    const reply = await callSimulator(sim.url, { path: '/v1/embeddings', body: JSON.stringify({ model: 'e', input: 'a b c d e' }), headers: metrics });
    expect(reply.headers[USAGE_METRICS_HEADER.toLowerCase()]).toBe('prompt=5,completion=0,total=5,cached_prompt_tokens=3,uncached_prompt_tokens=2,model=e');
  });

  it('announces a trailer on a stream and sends the usage in it', async () => {
    for (const encrypt of [true, false]) {
      const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody({ stream: true }), headers: metrics, encrypt });
      expect(reply.headers.trailer).toBe(USAGE_METRICS_HEADER);
      expect(reply.headers[USAGE_METRICS_HEADER.toLowerCase()]).toBeUndefined();
      expect(reply.trailers[USAGE_METRICS_HEADER.toLowerCase()]).toBe('prompt=4,completion=3,total=7,model=llama3-3-70b');
      expect(reply.body.endsWith('data: [DONE]\n\n')).toBe(true);
    }
    const responses = await callSimulator(sim.url, { path: '/v1/responses', body: JSON.stringify({ model: 'r', input: 'x', stream: true }), headers: metrics });
    expect(responses.trailers[USAGE_METRICS_HEADER.toLowerCase()]).toBe('prompt=1,completion=3,total=4,model=r');
  });
});

describe('request log', () => {
  it('records what the enclave saw, and clears', async () => {
    await callSimulator(sim.url, { path: '/v1/completions', body: JSON.stringify({ model: 'm', prompt: 'p' }), headers: { ...json, authorization: 'Bearer k1' } });
    await callSimulator(sim.url, { path: '/v1/models' });
    const log = sim.requests().filter((r) => r.path.startsWith('/v1/'));
    expect(log.map((r) => [r.method, r.path, r.encrypted, r.status])).toEqual([
      ['POST', '/v1/completions', true, 200],
      ['GET', '/v1/models', false, 200],
    ]);
    expect(log[0]?.headers.authorization).toBe('Bearer k1');
    expect(log[0]?.body).toEqual({ model: 'm', prompt: 'p' });
    expect(log[0]?.time).toBeInstanceOf(Date);
    const overHttp = await controlCall('GET', '/control/requests');
    expect((overHttp.body.requests as RecordedRequest[]).map((r) => r.path)).toEqual(sim.requests().map((r) => r.path));
    await controlCall('DELETE', '/control/requests');
    expect(sim.requests()).toEqual([]);
  });
});

describe('control API over HTTP', () => {
  it('switches release, breaks attestation, rotates the key and reports state', async () => {
    const before = sim.release.releaseDigest;
    const switched = await controlCall('POST', '/control/release', {});
    expect((switched.body.release as { releaseDigest: string }).releaseDigest).not.toBe(before);
    expect(sim.release.releaseDigest).toBe((switched.body.release as { releaseDigest: string }).releaseDigest);
    await controlCall('POST', '/control/attestation', { fault: 'server-error' });
    expect((await fetch(new URL('/attestation', sim.url))).status).toBe(500);
    const rotated = await controlCall('POST', '/control/rotate-key');
    expect(rotated.body.hpkePublicKey).toBe(sim.hpkePublicKey);
    const state = await controlCall('GET', '/control/state');
    expect(state.body).toMatchObject({ hpkePublicKey: sim.hpkePublicKey, behaviour: { attestationFault: 'server-error' } });
    await controlCall('POST', '/control/attestation', { fault: 'unavailable' });
    expect((await fetch(new URL('/attestation', sim.url))).status).toBe(503);
    expect((await controlCall('POST', '/control/attestation', { fault: 'down' })).status).toBe(400);
    await controlCall('POST', '/control/reset');
    expect(sim.behaviour.attestationFault).toBeNull();
  });

  it('sets completion text, usage and plaintext answers', async () => {
    await controlCall('POST', '/control/completion', { text: 'just this', model: 'special' });
    await controlCall('POST', '/control/usage', { promptTokens: 50, cachedTokens: 10 });
    await controlCall('POST', '/control/plaintext', { enabled: true });
    const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: JSON.stringify({ model: 'special', messages: [] }), headers: metrics });
    expect(reply.encrypted).toBe(false);
    expect(JSON.parse(reply.body)).toMatchObject({ choices: [{ message: { content: 'just this' } }], usage: { prompt_tokens: 50 } });
    expect(reply.headers[USAGE_METRICS_HEADER.toLowerCase()]).toBe('prompt=50,completion=2,total=52,cached_prompt_tokens=10,uncached_prompt_tokens=40,model=special');
  });

  it('sets and clears delays and cuts', async () => {
    await controlCall('POST', '/control/slow', { chunkMs: 5 });
    await controlCall('POST', '/control/cut', { afterChunks: 0 });
    expect(sim.behaviour).toMatchObject({ slow: { firstByteMs: 0, chunkMs: 5 }, cut: { afterChunks: 0 } });
    await controlCall('POST', '/control/slow', {});
    const cleared = await controlCall('POST', '/control/cut', { afterChunks: null });
    expect(cleared.body).toMatchObject({ behaviour: { slow: { firstByteMs: 0, chunkMs: 0 }, cut: null } });
  });

  it('refuses bad input and unknown controls', async () => {
    expect((await controlCall('POST', '/control/attestation', { fault: 'melted' })).status).toBe(400);
    expect((await controlCall('POST', '/control/slow', { firstByteMs: -1 })).status).toBe(400);
    expect((await controlCall('POST', '/control/release', { releaseDigest: 'nothex' })).status).toBe(400);
    expect((await controlCall('POST', '/control/usage', { promptTokens: 'many' })).status).toBe(400);
    expect((await controlCall('GET', '/control/nothing')).status).toBe(404);
  });
});

describe('faults', () => {
  it('delays the first byte and every later chunk', async () => {
    sim.slowResponses({ firstByteMs: 120 });
    let start = performance.now();
    await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), headers: json });
    expect(performance.now() - start).toBeGreaterThanOrEqual(110);
    sim.slowResponses({ chunkMs: 30 });
    start = performance.now();
    await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody({ stream: true }), headers: json });
    // Six events (role, three words, finish, [DONE]): five gaps.
    expect(performance.now() - start).toBeGreaterThanOrEqual(140);
  });

  it('resets a stream after the configured number of events', async () => {
    sim.cutResponses({ afterChunks: 2 });
    const failure = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody({ stream: true }), headers: json, encrypt: false }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SimulatorCallError);
    expect((failure as SimulatorCallError).received.toString().match(/^data: /gm)).toHaveLength(2);
    await expect(callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), headers: json })).rejects.toBeInstanceOf(SimulatorCallError);
    sim.cutResponses(null);
    expect((await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), headers: json })).status).toBe(200);
  });

  it('truncates a stream cleanly after whole events or frames, with no [DONE] and no usage trailer', async () => {
    await controlCall('POST', '/control/truncate', { afterChunks: 2 });
    expect(sim.behaviour.truncate).toEqual({ afterChunks: 2 });
    for (const encrypt of [true, false]) {
      // The ehbp package's own client opens the frames: the framing of the short stream is valid.
      const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody({ stream: true }), headers: metrics, encrypt });
      expect(reply.encrypted).toBe(encrypt);
      expect(reply.body.match(/^data: /gm)).toHaveLength(2);
      expect(reply.body).not.toContain('[DONE]');
      expect(reply.trailers[USAGE_METRICS_HEADER.toLowerCase()]).toBeUndefined();
    }
    sim.truncateResponses({ afterChunks: 0 });
    const none = await callSimulator(sim.url, { path: '/v1/responses', body: JSON.stringify({ model: 'r', input: 'x', stream: true }), headers: json });
    expect(none).toMatchObject({ status: 200, encrypted: true, body: '' });
    const cleared = await controlCall('POST', '/control/truncate', { afterChunks: null });
    expect(cleared.body).toMatchObject({ behaviour: { truncate: null } });
    expect((await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody({ stream: true }), headers: json })).body).toContain('data: [DONE]');
  });

  it('truncates a document to half its bytes, sealed as one whole frame, or to nothing', async () => {
    const whole = (await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), headers: json })).body;
    sim.truncateResponses({ afterChunks: 1 });
    for (const encrypt of [true, false]) {
      const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), headers: json, encrypt });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-length']).toBeUndefined();
      // Ids differ per request (sim1, sim12, …); the rest of the first half is the same.
      const unnumbered = (text: string): string => text.replace(/sim\d+/, 'sim');
      expect(unnumbered(whole).startsWith(unnumbered(reply.body))).toBe(true);
      expect(Math.abs(reply.body.length - whole.length / 2)).toBeLessThanOrEqual(2);
      expect(() => JSON.parse(reply.body) as unknown).toThrow();
    }
    sim.truncateResponses({ afterChunks: 0 });
    expect((await callSimulator(sim.url, { path: '/v1/embeddings', body: JSON.stringify({ model: 'e', input: 'a' }), headers: json })).body).toBe('');
    expect((await controlCall('POST', '/control/truncate', { afterChunks: -1 })).status).toBe(400);
  });
});

describe('access control', () => {
  it('requires the API key and the control token when configured', async () => {
    const guarded = await startEnclaveSimulator({ apiKey: 'sk-test', controlToken: 'ctl', keySeed: 'fixed' });
    try {
      const denied = await callSimulator(guarded.url, { path: '/v1/chat/completions', body: chatBody(), headers: json });
      expect(denied.status).toBe(401);
      const allowed = await callSimulator(guarded.url, { path: '/v1/chat/completions', body: chatBody(), headers: { ...json, authorization: 'Bearer sk-test' } });
      expect(allowed.status).toBe(200);
      expect((await fetch(new URL('/control/state', guarded.url))).status).toBe(401);
      expect((await fetch(new URL('/control/state', guarded.url), { headers: { authorization: 'Bearer ctl' } })).status).toBe(200);
      const again = await startEnclaveSimulator({ keySeed: 'fixed' });
      expect(again.hpkePublicKey).toBe(guarded.hpkePublicKey);
      await again.close();
    } finally {
      await guarded.close();
    }
  });
});
