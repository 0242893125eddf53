import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serveJson, startAttestationServer, type AttestationServer } from '../../test/fixtures/attestation-server.ts';
import { loadRecording, RECORDED_RELEASES } from '../../test/fixtures/tinfoil-recordings.ts';
import { developmentFingerprint, signDevelopmentBundle, type DevelopmentClaims } from './development.ts';
import { checkPinnedDigest } from './policy.ts';
import { AttestationFailure, type AttestationResult, type AttestationStep, type AttestationVerifier } from './types.ts';
import { createAttestationVerifier, type AttestationVerifierConfig } from './verifier.ts';

const FIXED_NOW = new Date('2026-02-01T00:00:00Z');
let server: AttestationServer | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await server?.close();
  server = undefined;
});

async function serve(body: unknown): Promise<AttestationServer> {
  server = await startAttestationServer(serveJson(body));
  return server;
}

function verified(bundleUrl: string, extra: Partial<AttestationVerifierConfig> = {}): AttestationVerifier {
  const config = { trust: 'Verified', configRepo: 'tinfoilsh/confidential-model-router', bundleUrl, ...extra } as const;
  return createAttestationVerifier(config, { now: () => FIXED_NOW });
}

async function expectStep(verifier: AttestationVerifier, step: AttestationStep): Promise<AttestationFailure> {
  const error: unknown = await verifier.verify().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AttestationFailure);
  expect((error as AttestationFailure).step, (error as AttestationFailure).message).toBe(step);
  return error as AttestationFailure;
}

function ed25519(): { publicPem: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}

function claims(domain = '127.0.0.1'): DevelopmentClaims {
  return {
    domain,
    releaseDigest: randomBytes(32).toString('hex'),
    measurement: ['aa'.repeat(48)],
    hpkePublicKey: randomBytes(32).toString('hex'),
    issuedAt: FIXED_NOW.toISOString(),
  };
}

describe(
  'Verified trust against a loopback attestation server',
  () => {
    it('verifies the v0.0.38 recording and pins HPKE key 3565781f…', async () => {
      const { url } = await serve(loadRecording('v0.0.38'));
      const result = await verified(url, { expectedDomain: 'inference.tinfoil.sh' }).verify();
      expect(result.trust).toBe('Verified');
      expect(result.hpkePublicKey.startsWith('3565781f')).toBe(true);
      expect(result.releaseDigest.startsWith('5ed9d5c9')).toBe(true);
      expect(result.measurementFingerprint.startsWith('09ef32ac')).toBe(true);
      expect(result.verifiedAt).toBe(FIXED_NOW);
      expect(server?.requests()).toBe(1);
    });

    it('compares the expected domain case-insensitively, trailing dot allowed', async () => {
      const { url } = await serve(loadRecording('v0.0.38'));
      await expect(verified(url, { expectedDomain: 'Inference.Tinfoil.SH.' }).verify()).resolves.toMatchObject({ domain: 'inference.tinfoil.sh' });
    });

    it('fails at policy when the upstream is another host than the attested domain', async () => {
      const { url } = await serve(loadRecording('v0.0.38'));
      const failure = await expectStep(verified(url, { expectedDomain: 'inference.example.com' }), 'policy');
      expect(failure.message).toContain('the attestation is for inference.tinfoil.sh, but the upstream is inference.example.com');
    });

    it('fails the v0.0.37 recording at verifyCertificate', async () => {
      const { url } = await serve(loadRecording('v0.0.37'));
      await expectStep(verified(url), 'verifyCertificate');
    });

    it('fails once the hardware certificates have expired', async () => {
      const { url } = await serve(loadRecording('v0.0.38'));
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2033-01-12T00:00:00Z'));
      await expectStep(verified(url), 'verifyEnclave');
    });

    it('a pin on the other release fails at policy, naming both digests', async () => {
      const { url } = await serve(loadRecording('v0.0.38'));
      const result = await verified(url).verify();
      const pinned = [RECORDED_RELEASES['v0.0.37'].releaseDigest];
      expect(() => checkPinnedDigest(result, pinned)).toThrow(
        `release ${RECORDED_RELEASES['v0.0.38'].releaseDigest} is not pinned (attestation.pinnedDigests: ${RECORDED_RELEASES['v0.0.37'].releaseDigest})`,
      );
      expect(checkPinnedDigest(result, [result.releaseDigest])).toBe(result);
    });
  },
);

describe('Verified trust, transport and format failures', () => {
  it('fails at fetch on HTTP 500', async () => {
    server = await startAttestationServer((_req, res) => res.writeHead(500).end());
    expect((await expectStep(verified(server.url), 'fetch')).message).toContain('HTTP 500');
  });

  it('fails at fetch on a hanging server', async () => {
    server = await startAttestationServer(() => undefined);
    expect((await expectStep(verified(server.url, { fetchTimeoutMs: 150 }), 'fetch')).message).toContain('timed out after 150 ms');
  });

  it('fails at format when given a development bundle', async () => {
    const { url } = await serve(signDevelopmentBundle(claims(), ed25519().privateKey));
    await expectStep(verified(url), 'format');
  });

  it('fetches through the injected fetch', async () => {
    const fake = vi.fn<typeof fetch>(() => Promise.resolve(new Response('not json')));
    const verifier = createAttestationVerifier(
      { trust: 'Verified', configRepo: 'a/b', bundleUrl: 'https://atc.example' },
      { fetch: fake },
    );
    await expectStep(verifier, 'fetch');
    expect(fake).toHaveBeenCalledOnce();
  });
});

describe('Development trust', () => {
  function development(bundleUrl: string, publicPem: string, expectedDomain?: string): AttestationVerifier {
    const config = { trust: 'Development', configRepo: 'a/b', bundleUrl, developmentPublicKey: publicPem, expectedDomain } as const;
    return createAttestationVerifier(config, { now: () => FIXED_NOW });
  }

  it('verifies a bundle signed by the configured key', async () => {
    const key = ed25519();
    const signed = claims();
    const { url } = await serve(signDevelopmentBundle(signed, key.privateKey));
    const result: AttestationResult = await development(url, key.publicPem, '127.0.0.1').verify();
    expect(result).toEqual({
      trust: 'Development',
      domain: '127.0.0.1',
      releaseDigest: signed.releaseDigest,
      measurementFingerprint: developmentFingerprint(signed.measurement),
      hpkePublicKey: signed.hpkePublicKey,
      tlsPublicKeyFingerprint: undefined,
      verifiedAt: FIXED_NOW,
    });
  });

  it('fails at signature for a bundle signed by another key', async () => {
    const { url } = await serve(signDevelopmentBundle(claims(), ed25519().privateKey));
    await expectStep(development(url, ed25519().publicPem), 'signature');
  });

  it('fails at policy for a bundle bound to another domain', async () => {
    const key = ed25519();
    const { url } = await serve(signDevelopmentBundle(claims('simulator.example'), key.privateKey));
    await expectStep(development(url, key.publicPem, '127.0.0.1'), 'policy');
  });

  it('fails at format for a Tinfoil bundle', async () => {
    const { url } = await serve({ domain: 'inference.tinfoil.sh', digest: '00'.repeat(32) });
    await expectStep(development(url, ed25519().publicPem), 'format');
  });

  it('refuses to start without a development key', () => {
    expect(() => createAttestationVerifier({ trust: 'Development', configRepo: 'a/b', bundleUrl: 'http://127.0.0.1:1' })).toThrow(
      'attestation.developmentPublicKey is required when attestation.trust is Development',
    );
  });
});
