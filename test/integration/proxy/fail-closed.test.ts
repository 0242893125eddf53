import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

/** inferenceTraffic is every request that reached an inference path of the simulator. */
const inferenceTraffic = (simulator: EnclaveSimulator): number => simulator.requests().filter((r) => r.path.startsWith('/v1/')).length;

async function errorOf(call: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = error as { status: number; code: string; message: string };
    return { status: e.status, code: e.code, message: e.message };
  }
  throw new Error('the call succeeded');
}

describe('fail closed', () => {
  let simulator: EnclaveSimulator | undefined;
  let proxy: TestProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await simulator?.close();
  });

  const client = (p: TestProxy): OpenAI => new OpenAI({ baseURL: `${p.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });

  it('sends zero bytes upstream when the attestation does not verify, and says why', async () => {
    simulator = await startEnclaveSimulator();
    simulator.breakAttestation('bad-signature');
    // No first-verification window here (docs/adr/0013): the proxy is ready at once, so the
    // readiness checks below see a proxy that answers while its upstream does not verify.
    proxy = await startTestProxy(simulatorConfig(simulator, { attestation: { firstVerificationWindowSeconds: 0 } }));
    const chat = client(proxy).chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'secret prompt' }] });
    const error = await errorOf(chat);
    expect(error.status).toBe(503);
    expect(error.code).toBe('attestation_failed');
    expect(error.message).toContain('signature');
    const stream = client(proxy).chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'secret' }], stream: true });
    expect((await errorOf(stream)).code).toBe('attestation_failed');
    expect(inferenceTraffic(simulator)).toBe(0);
    expect(simulator.requests().every((r) => r.path === '/attestation')).toBe(true);

    // Past the window readiness is not attestation: the process answers, so it stays Ready (ADR 0001).
    expect((await fetch(`${proxy.adminUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${proxy.adminUrl}/healthz`)).status).toBe(200);
    const report = (await (await fetch(`${proxy.adminUrl}/admin/attestation`)).json()) as { status: string; failure: { step: string } };
    expect(report).toMatchObject({ status: 'failed', failure: { step: 'signature' } });
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_attestation_up')).toBe(0);
    expect(metricValue(metrics, 'attested_inference_attestation_verifications_total', { result: 'failure', step: 'signature' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses a release that is not pinned, naming both digests, without sending anything', async () => {
    simulator = await startEnclaveSimulator();
    const pinned = 'ab'.repeat(32);
    proxy = await startTestProxy(simulatorConfig(simulator, { attestation: { policy: 'Pin', pinnedDigests: [pinned] } }));
    const error = await errorOf(client(proxy).chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] }));
    expect(error.code).toBe('attestation_failed');
    expect(error.message).toContain(pinned);
    expect(error.message).toContain(simulator.release.releaseDigest);
    expect(inferenceTraffic(simulator)).toBe(0);
  });

  it('accepts the pinned release', async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator, { attestation: { policy: 'Pin', pinnedDigests: [simulator.release.releaseDigest] } }));
    const completion = await client(proxy).chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] });
    expect(completion.choices).toHaveLength(1);
  });

  it('fails closed when the provider key is missing', async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator, { provider: { apiKeyFile: '/nonexistent/api-key' } }));
    const error = await errorOf(client(proxy).chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toMatchObject({ status: 503, code: 'provider_key_missing' });
    expect(inferenceTraffic(simulator)).toBe(0);
    expect(metricValue(await proxy.metrics(), 'attested_inference_provider_key_loaded')).toBe(0);
  });

  it('stops sending as soon as a re-verification fails, and recovers when it passes again', async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator));
    const c = client(proxy);
    await c.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] });
    simulator.breakAttestation('bad-signature');
    proxy.runtime.provider.start(); // starts a verification now, like the recheck timer
    await waitForStatus(proxy, 'failed');
    simulator.clearRequests();
    expect((await errorOf(c.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] }))).code).toBe('attestation_failed');
    expect(inferenceTraffic(simulator)).toBe(0);
    simulator.breakAttestation(null);
    proxy.runtime.provider.start();
    await waitForStatus(proxy, 'verified');
    await c.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] });
    expect(inferenceTraffic(simulator)).toBe(1);
  });
});

async function waitForStatus(proxy: TestProxy, status: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proxy.runtime.provider.attestation().status === status) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`attestation never became ${status}`);
}
