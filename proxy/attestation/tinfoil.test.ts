import { measurementFingerprint, verifyAttestation, type AttestationDocument } from '@tinfoilsh/verifier';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadRecording, RECORDED_RELEASES } from '../../test/fixtures/tinfoil-recordings.ts';
import { DEVELOPMENT_FORMAT } from './development.ts';
import { parseTinfoilBundle, verifyTinfoilBundle } from './tinfoil.ts';
import { AttestationFailure, type AttestationStep } from './types.ts';

const CONFIG_REPO = 'tinfoilsh/confidential-model-router';
const FIXED_NOW = new Date('2026-02-01T00:00:00Z');

async function failureOf(promise: Promise<unknown>): Promise<AttestationFailure> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AttestationFailure);
  return error as AttestationFailure;
}

async function expectStep(bundle: unknown, step: AttestationStep, configRepo = CONFIG_REPO): Promise<AttestationFailure> {
  const failure = await failureOf(verifyTinfoilBundle(bundle, { configRepo }));
  expect(failure.step, failure.message).toBe(step);
  return failure;
}

function flipByte(base64: string, index: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('parseTinfoilBundle (format step)', () => {
  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'bundle'],
  ])('rejects %s', (_name, value) => {
    expect(() => parseTinfoilBundle(value)).toThrow(expect.objectContaining({ step: 'format' }) as Error);
  });

  it('names the missing fields', () => {
    const failure = (() => {
      try {
        parseTinfoilBundle({ domain: 'inference.tinfoil.sh', digest: 'not-hex' });
      } catch (e) {
        return e as AttestationFailure;
      }
      throw new Error('expected a failure');
    })();
    expect(failure.step).toBe('format');
    expect(failure.message).toMatch(/digest, enclaveAttestationReport, vcek, sigstoreBundle$/);
  });

  it('recognises a development attestation and says so', () => {
    const development = { format: DEVELOPMENT_FORMAT, payload: 'e30=', signature: 'AA==' };
    expect(() => parseTinfoilBundle(development)).toThrow(/development attestation; trust Verified accepts only Tinfoil bundles/);
  });
});

describe(
  'verifyTinfoilBundle on the recorded bundles',
  () => {
    afterEach(() => {
      vi.useRealTimers();
      vi.restoreAllMocks();
    });

    it('verifies v0.0.38 offline and pins its HPKE key, digest and fingerprint', async () => {
      const network = vi.spyOn(globalThis, 'fetch');
      const result = await verifyTinfoilBundle(loadRecording('v0.0.38'), { configRepo: CONFIG_REPO, now: () => FIXED_NOW });
      expect(network).not.toHaveBeenCalled();
      expect(result.hpkePublicKey.startsWith('3565781f')).toBe(true);
      expect(result.releaseDigest.startsWith('5ed9d5c9')).toBe(true);
      expect(result.measurementFingerprint.startsWith('09ef32ac')).toBe(true);
      const known = RECORDED_RELEASES['v0.0.38'];
      expect(result).toEqual({
        trust: 'Verified',
        domain: known.domain,
        releaseDigest: known.releaseDigest,
        measurementFingerprint: known.enclaveFingerprint,
        hpkePublicKey: known.hpkePublicKey,
        tlsPublicKeyFingerprint: known.tlsPublicKeyFingerprint,
        verifiedAt: FIXED_NOW,
      });
    });

    it('fails v0.0.37 at verifyCertificate: it carries no enclave certificate', async () => {
      const failure = await expectStep(loadRecording('v0.0.37'), 'verifyCertificate');
      expect(failure.message).toContain('no enclave TLS certificate (enclaveCert)');
    });

    it('the v0.0.37 fixture fields match its hardware report and digest', async () => {
      const bundle = loadRecording('v0.0.37');
      const known = RECORDED_RELEASES['v0.0.37'];
      const report = await verifyAttestation(bundle.enclaveAttestationReport as AttestationDocument, bundle.vcek as string);
      expect(bundle.digest).toBe(known.releaseDigest);
      expect(await measurementFingerprint(report.measurement)).toBe(known.enclaveFingerprint);
      expect(report.hpkePublicKey).toBe(known.hpkePublicKey);
      expect(report.tlsPublicKeyFingerprint).toBe(known.tlsPublicKeyFingerprint);
    });

    it('fails at verifyCode for another config repository', async () => {
      const failure = await expectStep(loadRecording('v0.0.38'), 'verifyCode', 'tinfoilsh/some-other-repo');
      expect(failure.message).toContain('(config repository tinfoilsh/some-other-repo)');
    });

    it('fails at verifyCode when one byte of the DSSE payload is flipped', async () => {
      const bundle = loadRecording('v0.0.38');
      const envelope = (bundle.sigstoreBundle as { dsseEnvelope: { payload: string } }).dsseEnvelope;
      envelope.payload = flipByte(envelope.payload, 40);
      await expectStep(bundle, 'verifyCode');
    });

    it('fails at compareMeasurements for the report of one release with the code of the other', async () => {
      const current = loadRecording('v0.0.38');
      const previous = loadRecording('v0.0.37');
      await expectStep({ ...current, digest: previous.digest, sigstoreBundle: previous.sigstoreBundle }, 'compareMeasurements');
      await expectStep({ ...previous, digest: current.digest, sigstoreBundle: current.sigstoreBundle, enclaveCert: current.enclaveCert }, 'compareMeasurements');
    });

    it('fails at verifyEnclave when one byte of the VCEK is flipped', async () => {
      const bundle = loadRecording('v0.0.38');
      bundle.vcek = flipByte(bundle.vcek as string, (Buffer.from(bundle.vcek as string, 'base64').length - 10));
      const failure = await expectStep(bundle, 'verifyEnclave');
      expect(failure.message).toContain('VCEK');
    });

    it('fails at verifyCertificate when the bundle claims another domain', async () => {
      const failure = await expectStep({ ...loadRecording('v0.0.38'), domain: 'other.tinfoil.sh' }, 'verifyCertificate');
      expect(failure.message).toContain('other.tinfoil.sh');
    });

    it('fails at verifyEnclave once the VCEK has expired (after 2033-01-11)', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2033-01-12T00:00:00Z'));
      const failure = await expectStep(loadRecording('v0.0.38'), 'verifyEnclave');
      expect(failure.message).toMatch(/valid|expired|date/i);
    });

    it('fails at verifyEnclave before the VCEK was issued (2026-01-11)', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-01-10T00:00:00Z'));
      await expectStep(loadRecording('v0.0.38'), 'verifyEnclave');
    });
  },
);
