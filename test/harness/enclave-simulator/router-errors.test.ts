import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callSimulator } from './client.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from './index.ts';

let sim: EnclaveSimulator;

beforeAll(async () => {
  sim = await startEnclaveSimulator();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.clearRequests();
});

const chat = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'hello' }] });

describe('router errors (EHBP 0.3: plaintext, no nonce)', () => {
  it('answers a sealed request with a plaintext 429, Retry-After and no nonce, then serves again after `times`', async () => {
    sim.rejectAtRouter({ status: 429, retryAfterSeconds: 1, body: 'openai', times: 1 });
    const rejected = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chat, headers: { 'content-type': 'application/json' } });
    expect(rejected.status).toBe(429);
    expect(rejected.encrypted).toBe(false);
    expect(rejected.headers['ehbp-response-nonce']).toBeUndefined();
    expect(rejected.headers['retry-after']).toBe('1');
    expect(JSON.parse(rejected.body)).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' } });
    const served = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chat, headers: { 'content-type': 'application/json' } });
    expect(served).toMatchObject({ status: 200, encrypted: true });
    expect(sim.requests().filter((r) => r.path.startsWith('/v1/')).map((r) => [r.encrypted, r.status])).toEqual([[true, 429], [true, 200]]);
  });

  it('answers a plain-text 401 until switched off, over the control API too', async () => {
    const set = await fetch(new URL('/control/router-error', sim.url), { method: 'POST', body: JSON.stringify({ status: 401, body: 'text' }) });
    expect(set.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chat });
      expect(reply.status).toBe(401);
      expect(reply.headers['content-type']).toContain('text/plain');
      expect(reply.body).toContain('Invalid API key');
    }
    await fetch(new URL('/control/router-error', sim.url), { method: 'POST', body: JSON.stringify({ status: null }) });
    expect((await callSimulator(sim.url, { path: '/v1/chat/completions', body: chat })).status).toBe(200);
  });

  it('pads a body to bodyBytes and refuses bad settings, naming the field', async () => {
    sim.rejectAtRouter({ status: 503, body: 'openai', bodyBytes: 200_000 });
    const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chat, encrypt: false });
    expect(reply.status).toBe(503);
    expect(Buffer.byteLength(reply.body)).toBe(200_000);
    expect(JSON.parse(reply.body)).toHaveProperty('error.message');
    expect(() => { sim.rejectAtRouter({ status: 99, body: 'openai' }); }).toThrow(/status/);
    expect(() => { sim.rejectAtRouter({ status: 429, body: 'openai', times: 0 }); }).toThrow(/times/);
    const bad = await fetch(new URL('/control/router-error', sim.url), { method: 'POST', body: JSON.stringify({ status: 429, body: 'xml' }) });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('body must be');
  });
});
