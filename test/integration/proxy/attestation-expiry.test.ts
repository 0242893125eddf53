import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

// Attestation documents that say when they expire (attestation v3's collateral does, within days)
// stop vouching at that time: new requests stop unless a fresh verification succeeded. The
// simulator's development attestations carry such an end when told to.

describe('an attestation that expires', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  let client: OpenAI;
  const chat = async (): Promise<unknown> => client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'hi' }] }).then(() => 'ok', (e: unknown) => e);

  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    simulator.expireAttestations(3000);
    // A recheck interval far longer than the validity: only the expiry makes the proxy verify again.
    proxy = await startTestProxy(simulatorConfig(simulator, { attestation: { recheckIntervalSeconds: 3600 } }));
    client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'caller', maxRetries: 0 });
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });

  it('is verified again before it expires, so traffic goes on', async () => {
    const admin = async (): Promise<{ expiresAt?: string; verifiedAt?: string }> => (await fetch(`${proxy.adminUrl}/admin/attestation`)).json() as Promise<{ expiresAt?: string; verifiedAt?: string }>;
    const first = await admin();
    expect(Date.parse(first.expiresAt!) - Date.parse(first.verifiedAt!)).toBeLessThanOrEqual(3000);
    await expect.poll(async () => (await admin()).expiresAt, { timeout: 10_000, interval: 200 }).not.toBe(first.expiresAt);
    expect(await chat()).toBe('ok');
  });

  it('stops new requests once it expired while the attestation service is down, and resumes after a fresh verification', async () => {
    expect(await chat()).toBe('ok');
    simulator.breakAttestation('unavailable');
    await expect.poll(chat, { timeout: 10_000, interval: 250 }).toMatchObject({ status: 503, code: 'attestation_expired' });
    const inference = simulator.requests().filter((r) => r.path === '/v1/chat/completions').length;
    expect(await chat()).toMatchObject({ status: 503, code: 'attestation_expired' });
    expect(simulator.requests().filter((r) => r.path === '/v1/chat/completions').length).toBe(inference); // nothing sent
    simulator.breakAttestation(null);
    await expect.poll(chat, { timeout: 20_000, interval: 250 }).toBe('ok');
  });
});
