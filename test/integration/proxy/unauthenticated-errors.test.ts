import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callSimulator, startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

/**
 * EHBP 0.3 error answers (the spec's §5.3, mode detection): Tinfoil's router rejects a request
 * before the enclave opens it — a per-key 429 with Retry-After, a 401 for a bad key — in plaintext
 * without `Ehbp-Response-Nonce`. Such a non-2xx answer reaches the caller as an unauthenticated
 * error with its status and retry headers, so the SDKs' retry logic sees the rate limit; a 2xx
 * without a nonce still fails closed.
 */

const UNAUTHENTICATED = 'x-attested-inference-unauthenticated';
const chat = { model: 'llama3-3-70b', messages: [{ role: 'user' as const, content: 'secret prompt' }] };

/** inference is what reached an inference path of the simulator, in order. */
const inference = (simulator: EnclaveSimulator): ReturnType<EnclaveSimulator['requests']> => simulator.requests().filter((r) => r.path.startsWith('/v1/'));

/** header reads one header of an SDK error (the SDK sets them whenever an answer arrived). */
const header = (error: InstanceType<typeof OpenAI.APIError>, name: string): string | null | undefined => error.headers?.get(name);

async function failureOf(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error;
    throw error;
  }
  throw new Error('the call succeeded');
}

describe('unauthenticated upstream errors (EHBP 0.3)', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  const client = (maxRetries = 0): OpenAI => new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'x', maxRetries });

  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator));
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });
  beforeEach(() => {
    simulator.reset();
    simulator.clearRequests();
  });

  it('relays the router\'s un-nonced 429 as a RateLimitError with Retry-After and x-ratelimit-*, marked unauthenticated', async () => {
    const before = metricValue(await proxy.metrics(), 'attested_inference_upstream_errors_total', { kind: 'unauthenticated' }) ?? 0;
    simulator.rejectAtRouter({ status: 429, retryAfterSeconds: 1, body: 'openai' });
    const error = await failureOf(client().chat.completions.create(chat));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.status).toBe(429);
    expect(header(error, 'retry-after')).toBe('1');
    expect(header(error, 'x-ratelimit-remaining-requests')).toBe('0');
    expect(header(error, UNAUTHENTICATED)).toBe('true');
    // Only the retry and rate-limit headers pass; the router's other headers are dropped.
    expect(header(error, 'x-router-trace')).toBeNull();
    expect(error.error).toEqual({ message: 'Rate limit exceeded for this API key (simulated router)', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' });
    expect(inference(simulator)).toHaveLength(1);
    expect(inference(simulator)[0]).toMatchObject({ encrypted: true, status: 429 });
    const metrics = await proxy.metrics();
    expect((metricValue(metrics, 'attested_inference_upstream_errors_total', { kind: 'unauthenticated' }) ?? 0) - before).toBe(1);
    expect(metricValue(metrics, 'attested_inference_requests_total', { route: 'chat/completions', status_code: '429', mode: 'encrypted' })).toBeGreaterThanOrEqual(1);
  });

  it('lets the SDK retry after Retry-After: two requests upstream, the second at least a second later', async () => {
    simulator.rejectAtRouter({ status: 429, retryAfterSeconds: 1, body: 'openai', times: 1 });
    const completion = await client(1).chat.completions.create(chat);
    expect(completion.choices).toHaveLength(1);
    const seen = inference(simulator);
    expect(seen.map((r) => r.status)).toEqual([429, 200]);
    const [first, second] = seen;
    expect(second!.time.getTime() - first!.time.getTime()).toBeGreaterThanOrEqual(950);

    // A rate limit that does not lift: the SDK retries once, then surfaces the 429.
    simulator.clearRequests();
    simulator.rejectAtRouter({ status: 429, retryAfterSeconds: 1, body: 'openai' });
    const error = await failureOf(client(1).chat.completions.create(chat));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(inference(simulator)).toHaveLength(2);
  });

  it('relays the router\'s plain-text 401 as an AuthenticationError, its text wrapped in an OpenAI error object', async () => {
    simulator.rejectAtRouter({ status: 401, body: 'text' });
    const error = await failureOf(client().chat.completions.create(chat));
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.status).toBe(401);
    expect(header(error, UNAUTHENTICATED)).toBe('true');
    expect(error.code).toBe('upstream_unauthenticated_error');
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toContain('without EHBP encryption; this error is unauthenticated: Invalid API key (simulated router)');
  });

  it('still fails closed on an un-nonced 200: 502 upstream_protocol_error, nothing of its body passed', async () => {
    simulator.rejectAtRouter({ status: 200, body: 'text' });
    const response = await fetch(`${proxy.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify(chat) });
    expect(response.status).toBe(502);
    expect(response.headers.get(UNAUTHENTICATED)).toBeNull();
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBeNull();
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'upstream_protocol_error' } });
    expect(text).not.toContain('simulated');
    // Streams too: the 2xx is refused before anything is written.
    const stream = await failureOf(client().chat.completions.create({ ...chat, stream: true }));
    expect(stream).toMatchObject({ status: 502, code: 'upstream_protocol_error' });
  });

  it('cuts a 10 MiB un-nonced error body at the bound and answers at once', async () => {
    simulator.rejectAtRouter({ status: 503, retryAfterSeconds: 2, body: 'openai', bodyBytes: 10 * 1024 * 1024 });
    const heapBefore = process.memoryUsage().heapUsed;
    const answers = await Promise.all(Array.from({ length: 8 }, async () => {
      const response = await fetch(`${proxy.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify(chat) });
      return { status: response.status, retryAfter: response.headers.get('retry-after'), marked: response.headers.get(UNAUTHENTICATED), text: await response.text() };
    }));
    // Eight 10 MiB bodies held at once would be 80 MiB; the proxy reads 64 KiB of each.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 * 1024 * 1024);
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 503, retryAfter: '2', marked: 'true' });
      expect(answer.text.length).toBeLessThan(4096);
      // Cut, the body is no whole JSON text any more: it is wrapped, its start kept as a diagnostic.
      expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'upstream_unauthenticated_error', type: 'server_error' } });
      expect(answer.text).toContain('cut at 65536 bytes');
    }
  });

  it('passes a client-sealed request\'s un-nonced error on as it came, for the caller\'s EHBP library to judge', async () => {
    simulator.rejectAtRouter({ status: 429, retryAfterSeconds: 1, body: 'text' });
    const body = JSON.stringify(chat);
    const reply = await callSimulator(proxy.apiUrl, { path: '/v1/chat/completions', body, headers: { 'content-type': 'application/json', authorization: 'Bearer x' } });
    expect(reply.status).toBe(429);
    expect(reply.encrypted).toBe(false);
    expect(reply.body).toBe('Rate limit exceeded for this API key (simulated router)\n');
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.headers['x-router-trace']).toBe('simulated');
    expect(reply.headers[UNAUTHENTICATED]).toBeUndefined();
    expect(inference(simulator)[0]).toMatchObject({ encrypted: true, status: 429 });
  });

  it('seals with the sealed body\'s own length and keeps the caller\'s headers (EHBP §5.1 transport parameters)', async () => {
    const body = JSON.stringify(chat);
    const response = await fetch(`${proxy.apiUrl}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x', 'x-caller-trace': 'abc' }, body,
    });
    expect(response.status).toBe(200);
    // The decrypted answer carries no EHBP header (its framing headers: proxy/upstream/tinfoil.test.ts).
    expect(response.headers.get('ehbp-response-nonce')).toBeNull();
    expect(JSON.parse(await response.text())).toHaveProperty('choices');
    const [seen] = inference(simulator);
    expect(seen?.headers['x-caller-trace']).toBe('abc');
    // One frame: a 4-byte length and a 16-byte AES-GCM tag around the caller's bytes, not the caller's length.
    expect(seen?.headers['content-length']).toBe(String(Buffer.byteLength(body) + 20));
  });
});
