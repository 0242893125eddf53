import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

/**
 * A pool of provider keys against the enclave simulator: the upstream refuses one key (revoked) and
 * rate-limits another at its router; callers keep being served by the keys that work, and the
 * metrics say which key index was set aside. Without the pool, the endpoint's one key is all there
 * is: revoke it and every request answers 401 (the last test shows that).
 */

const KEYS = ['sk-pool-a', 'sk-pool-revoked', 'sk-pool-c'] as const;
const chat = { model: 'llama3-3-70b', messages: [{ role: 'user' as const, content: 'hello' }] };

describe('a provider key pool of three with one key revoked', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  const client = (): OpenAI => new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });
  /** keysSeen lists the bearer each inference request reached the simulator with, by pool index. */
  const keysSeen = (): number[] => simulator.requests().filter((r) => r.path.startsWith('/v1/')).map((r) => KEYS.findIndex((k) => r.headers.authorization === `Bearer ${k}`));

  beforeAll(async () => {
    simulator = await startEnclaveSimulator({ apiKey: [KEYS[0], KEYS[2]] });
    proxy = await startTestProxy(simulatorConfig(simulator), { apiKeys: KEYS });
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });
  beforeEach(() => {
    simulator.reset();
    simulator.clearRequests();
  });

  it('serves every request, sends on the revoked key once, and sets it aside in the metrics', async () => {
    for (let i = 0; i < 12; i++) {
      const completion = await client().chat.completions.create(chat);
      expect(completion.choices).toHaveLength(1);
    }
    const seen = keysSeen();
    expect(seen.filter((index) => index === 1)).toHaveLength(1);
    expect(seen.filter((index) => index === 0).length).toBeGreaterThanOrEqual(5);
    expect(seen.filter((index) => index === 2).length).toBeGreaterThanOrEqual(5);
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_provider_key_answers_total', { key_index: '1', outcome: 'refused' })).toBe(1);
    expect(metricValue(metrics, 'attested_inference_provider_key_set_aside', { key_index: '1' })).toBe(1);
    expect(metricValue(metrics, 'attested_inference_provider_key_set_aside', { key_index: '0' })).toBe(0);
    expect(metrics).not.toContain(KEYS[1]);
    expect(proxy.logs().join('\n')).not.toContain(KEYS[1]);
    const status = await (await fetch(`${proxy.adminUrl}/admin/status`)).json() as { providerKeys: unknown };
    expect(status.providerKeys).toEqual({ configured: 3, loaded: 3, setAside: 1 });
  });

  it('moves requests off a key the router rate-limits (429, Retry-After) and keeps off it for that long', async () => {
    simulator.rejectAtRouter({ status: 429, retryAfterSeconds: 120, body: 'openai', forKey: KEYS[0] });
    for (let i = 0; i < 6; i++) expect((await client().chat.completions.create(chat)).choices).toHaveLength(1);
    const seen = simulator.requests().filter((r) => r.path.startsWith('/v1/'));
    // Key 0 answered 429 once; key 1 is still set aside (revoked): key 2 serves everything.
    expect(seen.filter((r) => r.headers.authorization === `Bearer ${KEYS[0]}`).map((r) => r.status)).toEqual([429]);
    expect(seen.filter((r) => r.status === 200).map((r) => r.headers.authorization)).toEqual(Array.from({ length: 6 }, () => `Bearer ${KEYS[2]}`));
    expect(metricValue(await proxy.metrics(), 'attested_inference_provider_key_answers_total', { key_index: '0', outcome: 'rate_limited' })).toBe(1);
  });

  it('relays the 401 to the caller when the endpoint has the revoked key alone', async () => {
    const single = await startTestProxy(simulatorConfig(simulator), { apiKey: KEYS[1] });
    try {
      const failure = await new OpenAI({ baseURL: `${single.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 }).chat.completions.create(chat).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(OpenAI.AuthenticationError);
    } finally {
      await single.close();
    }
  });
});
