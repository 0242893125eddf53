import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_API_VERSION } from '../../../proxy/config/schema.ts';
import { loadRecording, RECORDED_RELEASES } from '../../fixtures/tinfoil-recordings.ts';
import { serveJson, startAttestationServer, type AttestationServer } from '../../fixtures/attestation-server.ts';
import { metricValue, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

const v38 = RECORDED_RELEASES['v0.0.38'];

describe('a proxy in Verified mode on recorded Tinfoil attestations', () => {
  let server: AttestationServer;
  let proxy: TestProxy | undefined;
  const config = (): Record<string, unknown> => ({
    apiVersion: CONFIG_API_VERSION,
    provider: { type: 'tinfoil', upstreamUrl: 'https://inference.tinfoil.sh' },
    attestation: { trust: 'Verified', bundleUrl: server.url },
  });

  beforeAll(async () => {
    server = await startAttestationServer(serveJson(loadRecording('v0.0.38')));
  });
  afterAll(async () => {
    await proxy?.close();
    await server.close();
  });

  it('verifies the v0.0.38 bundle offline and pins its HPKE key', async () => {
    proxy = await startTestProxy(config());
    const report = (await (await fetch(`${proxy.adminUrl}/admin/attestation`)).json()) as Record<string, unknown>;
    expect(report).toMatchObject({
      status: 'verified',
      trust: 'Verified',
      domain: v38.domain,
      releaseDigest: v38.releaseDigest,
      measurementFingerprint: v38.enclaveFingerprint,
      hpkePublicKey: v38.hpkePublicKey,
      tlsPublicKeyFingerprint: v38.tlsPublicKeyFingerprint,
    });
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_attestation_info', { trust: 'Verified', release_digest: v38.releaseDigest })).toBe(1);
    await proxy.close();
    proxy = undefined;
  });

  it('fails closed on the v0.0.37 recording (no enclave certificate) and on a tampered bundle', async () => {
    server.respond(serveJson(loadRecording('v0.0.37')));
    proxy = await startTestProxy(config());
    let report = (await (await fetch(`${proxy.adminUrl}/admin/attestation`)).json()) as { status: string; failure: { step: string } };
    expect(report).toMatchObject({ status: 'failed', failure: { step: 'verifyCertificate' } });
    const refused = await fetch(`${proxy.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('attestation_failed');
    await proxy.close();

    const tampered = loadRecording('v0.0.38');
    tampered.vcek = flipByte(tampered.vcek as string);
    server.respond(serveJson(tampered));
    proxy = await startTestProxy(config());
    report = (await (await fetch(`${proxy.adminUrl}/admin/attestation`)).json()) as typeof report;
    expect(report).toMatchObject({ status: 'failed', failure: { step: 'verifyEnclave' } });
  });
});

function flipByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes.writeUInt8(bytes.readUInt8(200) ^ 0x01, 200);
  return bytes.toString('base64');
}
