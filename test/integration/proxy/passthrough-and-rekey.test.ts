import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callSimulator, startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

describe('EHBP pass-through and re-keying', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;

  beforeAll(async () => {
    simulator = await startEnclaveSimulator({ apiKey: 'sk-test-provider-key' });
    proxy = await startTestProxy(simulatorConfig(simulator));
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });
  beforeEach(() => simulator.clearRequests());

  it('serves the attested key configuration, byte for byte', async () => {
    const response = await fetch(`${proxy.apiUrl}/.well-known/hpke-keys`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/ohttp-keys');
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(simulator.keyConfig))).toBe(true);
  });

  it('forwards a client-sealed request untouched and meters it from the usage header', async () => {
    const before = metricValue(await proxy.metrics(), 'attested_inference_requests_total', { mode: 'passthrough' }) ?? 0;
    const body = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'sealed by the caller' }] });
    const reply = await callSimulator(proxy.apiUrl, { path: '/v1/chat/completions', body, headers: { 'content-type': 'application/json', authorization: 'Bearer caller' } });
    expect(reply.status).toBe(200);
    expect(reply.encrypted).toBe(true);
    expect(reply.headers['ehbp-response-nonce']).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(reply.body)).toHaveProperty('choices');
    const [seen] = simulator.requests().filter((r) => r.path === '/v1/chat/completions');
    expect(seen).toMatchObject({ encrypted: true, body: JSON.parse(body) as unknown });
    expect(seen?.headers.authorization).toBe('Bearer sk-test-provider-key');
    const metrics = await proxy.metrics();
    expect((metricValue(metrics, 'attested_inference_requests_total', { mode: 'passthrough' }) ?? 0) - before).toBe(1);
    expect(metricValue(metrics, 'attested_inference_tokens_total', { route: 'chat/completions', model: 'llama3-3-70b', token_type: 'output' })).toBeGreaterThan(0);
  });

  it('relays the usage trailer of a client-sealed stream', async () => {
    const body = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'stream' }], stream: true });
    const reply = await callSimulator(proxy.apiUrl, { path: '/v1/chat/completions', body, headers: { 'content-type': 'application/json', 'x-tinfoil-request-usage-metrics': 'true' } });
    expect(reply.body).toContain('data: [DONE]');
    expect(reply.trailers['x-tinfoil-usage-metrics']).toMatch(/^prompt=\d+,completion=\d+,total=\d+/);
  });

  it('re-attests and retries once when the enclave rotated its key (422), without failing the caller', async () => {
    const client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });
    const oldKey = simulator.hpkePublicKey;
    const newKey = await simulator.rotateKey();
    expect(newKey).not.toBe(oldKey);
    const completion = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'after rotation' }] });
    expect(completion.choices).toHaveLength(1);
    const attempts = simulator.requests().filter((r) => r.path === '/v1/chat/completions').map((r) => r.status);
    expect(attempts).toEqual([422, 200]);
    const report = (await (await fetch(`${proxy.adminUrl}/admin/attestation`)).json()) as { hpkePublicKey: string };
    expect(report.hpkePublicKey).toBe(newKey);
  });

  it('refuses a plaintext answer to an encrypted request instead of passing it on', async () => {
    const client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });
    simulator.answerInPlaintext(true);
    try {
      await expect(client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 502, code: 'upstream_protocol_error' });
    } finally {
      simulator.answerInPlaintext(false);
    }
    expect(metricValue(await proxy.metrics(), 'attested_inference_upstream_errors_total', { kind: 'protocol' })).toBeGreaterThanOrEqual(1);
  });
});

describe('pass-through switched off', () => {
  it('answers a client-sealed request with passthrough_not_allowed and sends nothing', async () => {
    const simulator = await startEnclaveSimulator();
    const proxy = await startTestProxy(simulatorConfig(simulator, { passthrough: { enabled: false } }));
    try {
      simulator.clearRequests();
      const reply = await callSimulator(proxy.apiUrl, { path: '/v1/chat/completions', body: '{"model":"m"}', keyConfig: simulator.keyConfig });
      expect(reply.status).toBe(403);
      expect(JSON.parse(reply.body)).toMatchObject({ error: { code: 'passthrough_not_allowed' } });
      expect(simulator.requests().filter((r) => r.path.startsWith('/v1/'))).toEqual([]);
    } finally {
      await proxy.close();
      await simulator.close();
    }
  });
});
