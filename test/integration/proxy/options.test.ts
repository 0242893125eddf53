import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { CONFIG_API_VERSION } from '../../../proxy/config/schema.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

describe('endpoint options', () => {
  let simulator: EnclaveSimulator | undefined;
  let proxy: TestProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await simulator?.close();
  });

  it('scopes the prompt cache with the configured secret unless the caller set one', async () => {
    simulator = await startEnclaveSimulator();
    const secretDir = await mkdtemp(join(tmpdir(), 'aio-cache-'));
    onTestFinished(() => rm(secretDir, { recursive: true, force: true }));
    const secretFile = join(secretDir, 'secret');
    await writeFile(secretFile, 'tenant-cache-secret\n');
    proxy = await startTestProxy(simulatorConfig(simulator, { promptCache: { userCacheSecretFile: secretFile } }));
    const client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });
    simulator.clearRequests();
    await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] });
    await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }], user_cache_secret: 'mine' } as never);
    await client.embeddings.create({ model: 'nomic-embed-text', input: 'x' });
    const bodies = simulator.requests().filter((r) => r.path.startsWith('/v1/')).map((r) => (r.body as { user_cache_secret?: string }).user_cache_secret);
    expect(bodies).toEqual(['tenant-cache-secret', 'mine', undefined]);
  });

  it('exposes the EHBP headers to browsers when CORS is on', async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator, { cors: { enabled: true, allowedOrigins: ['https://app.example.com'] } }));
    const preflight = await fetch(`${proxy.apiUrl}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'ehbp-encapsulated-key,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('ehbp-encapsulated-key');
    const response = await fetch(`${proxy.apiUrl}/v1/models`, { headers: { origin: 'https://app.example.com' } });
    expect(response.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('ehbp-response-nonce');
    // A browser client can tell an upstream's unauthenticated error from the proxy's own.
    expect(response.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('x-attested-inference-unauthenticated');
    const other = await fetch(`${proxy.apiUrl}/v1/models`, { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('forwards plaintext to an acknowledged unattested upstream, and says so', async () => {
    simulator = await startEnclaveSimulator({ apiKey: 'sk-plain' });
    proxy = await startTestProxy(
      { apiVersion: CONFIG_API_VERSION, provider: { type: 'openai-compatible', upstreamUrl: simulator.url, acknowledgeUnattested: true }, attestation: { trust: 'Development', developmentPublicKey: simulator.developmentPublicKeyPem } },
      { apiKey: 'sk-plain' },
    );
    const client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] });
    expect(completion.choices).toHaveLength(1);
    const [sent] = simulator.requests().filter((r) => r.path === '/v1/chat/completions');
    expect(sent).toMatchObject({ encrypted: false, headers: { authorization: 'Bearer sk-plain' } });
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_unattested')).toBe(1);
    expect(metricValue(metrics, 'attested_inference_requests_total', { mode: 'plain', status_code: '200' })).toBe(1);
    expect(proxy.logs().some((l) => l.includes('UNATTESTED upstream'))).toBe(true);
    const report = (await (await fetch(`${proxy.adminUrl}/admin/attestation`)).json()) as { status: string; attested: boolean };
    expect(report).toMatchObject({ status: 'unattested', attested: false });
  });
});
