import { Verifier, type AttestationBundle, type VerificationDocument } from '@tinfoilsh/verifier';
import { formatOf } from './formats.ts';
import { stepMessage } from './steps.ts';
import { AttestationFailure, type AttestationResult } from './types.ts';

/** TinfoilVerifyOptions: the repository whose signed releases are accepted, and the clock for `verifiedAt`. */
export interface TinfoilVerifyOptions {
  readonly configRepo: string;
  readonly now?: () => Date;
}

/** The verifier's steps in the order `Verifier.verifyBundle` runs them (1.1.0: enclave before code). */
const LIBRARY_STEPS = ['verifyEnclave', 'verifyCode', 'compareMeasurements', 'verifyCertificate'] as const;
type LibraryStep = (typeof LIBRARY_STEPS)[number];

const HEX64 = /^[0-9a-f]{64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatFailure(detail: string): AttestationFailure {
  return new AttestationFailure('format', stepMessage('format', detail));
}

/** missingFields lists the bundle fields that are absent or of the wrong type. */
function missingFields(b: Record<string, unknown>): string[] {
  const report = b.enclaveAttestationReport;
  const checks: [string, boolean][] = [
    ['domain', typeof b.domain === 'string' && b.domain.length > 0],
    ['digest', typeof b.digest === 'string' && HEX64.test(b.digest)],
    ['enclaveAttestationReport', isRecord(report) && typeof report.format === 'string' && typeof report.body === 'string'],
    ['vcek', typeof b.vcek === 'string' && b.vcek.length > 0],
    ['sigstoreBundle', isRecord(b.sigstoreBundle)],
    // A missing certificate is a certificate failure, not a shape failure: the verifier reports it.
    ['enclaveCert', b.enclaveCert === undefined || typeof b.enclaveCert === 'string'],
  ];
  return checks.filter(([, ok]) => !ok).map(([name]) => name);
}

/**
 * parseTinfoilBundle checks the shape of a fetched bundle (the `format` step) so the verifier only
 * ever sees the fields it destructures. Documents of other formats are named as such (formatOf):
 * a development attestation is the likeliest wrong one, served by the enclave simulator to a proxy
 * left in `Verified` mode; a TDX or v3 document needs a newer verifier.
 */
export function parseTinfoilBundle(value: unknown): AttestationBundle {
  // A development attestation, a TDX report or a v3 document is named as such, not as missing fields.
  formatOf(value, 'Verified');
  if (!isRecord(value)) throw formatFailure('expected a JSON object (a Tinfoil attestation bundle)');
  const missing = missingFields(value);
  if (missing.length > 0) throw formatFailure(`not a Tinfoil attestation bundle: missing or invalid ${missing.join(', ')}`);
  return { ...(value as unknown as AttestationBundle), enclaveCert: typeof value.enclaveCert === 'string' ? value.enclaveCert : '' };
}

/** failedStep reads which step the verifier stopped at from its verification document. */
function failedStep(document: VerificationDocument | undefined): { step: LibraryStep; error: string | undefined } {
  const steps = document?.steps;
  const failed = LIBRARY_STEPS.find((s) => steps?.[s]?.status === 'failed');
  if (failed !== undefined) return { step: failed, error: steps?.[failed]?.error };
  // No step recorded a failure: the exception came from the step still pending (or, after all
  // four passed, from fingerprinting the measurements).
  return { step: LIBRARY_STEPS.find((s) => steps?.[s]?.status === 'pending') ?? 'compareMeasurements', error: undefined };
}

function libraryFailure(bundle: AttestationBundle, verifier: Verifier, error: unknown, configRepo: string): AttestationFailure {
  const { step, error: recorded } = failedStep(verifier.getVerificationDocument());
  let detail = recorded ?? (error instanceof Error ? error.message : String(error));
  if (step === 'verifyCode') detail = `${detail} (config repository ${configRepo})`;
  if (step === 'verifyCertificate' && bundle.enclaveCert === '') detail = 'the bundle carries no enclave TLS certificate (enclaveCert)';
  return new AttestationFailure(step, stepMessage(step, detail), { cause: error });
}

function resultOf(document: VerificationDocument, bundle: AttestationBundle, now: () => Date): AttestationResult {
  if (!HEX64.test(document.hpkePublicKey)) {
    throw new AttestationFailure('verifyEnclave', stepMessage('verifyEnclave', 'the attestation report binds no X25519 HPKE public key'));
  }
  return {
    trust: 'Verified',
    domain: bundle.domain,
    releaseDigest: document.releaseDigest,
    measurementFingerprint: document.enclaveFingerprint,
    hpkePublicKey: document.hpkePublicKey,
    tlsPublicKeyFingerprint: document.tlsPublicKey === '' ? undefined : document.tlsPublicKey,
    verifiedAt: now(),
  };
}

/**
 * verifyTinfoilBundle verifies a fetched bundle with `@tinfoilsh/verifier` offline (AMD's roots and
 * the Sigstore trusted root are built into the package) and says what it attests. The hardware
 * certificates are checked against the real clock (`Date`); `now` only stamps `verifiedAt`.
 */
export async function verifyTinfoilBundle(value: unknown, options: TinfoilVerifyOptions): Promise<AttestationResult> {
  const bundle = parseTinfoilBundle(value);
  // One Verifier per verification: it keeps the last verification document on the instance.
  const verifier = new Verifier({ configRepo: options.configRepo });
  try {
    await verifier.verifyBundle(bundle);
  } catch (error) {
    throw libraryFailure(bundle, verifier, error, options.configRepo);
  }
  const document = verifier.getVerificationDocument();
  if (document?.securityVerified !== true) {
    throw new AttestationFailure('verifyCertificate', stepMessage('verifyCertificate', 'the verifier returned without marking the bundle verified'));
  }
  return resultOf(document, bundle, options.now ?? ((): Date => new Date()));
}
