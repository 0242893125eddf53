import { createHash, type KeyObject } from 'node:crypto';
import { developmentFingerprint, signDevelopmentBundle, type DevelopmentBundle } from '../../../proxy/attestation/development.ts';

/**
 * The simulated enclave's attestation: a development bundle (proxy/attestation/development.ts)
 * signed by the simulator's own Ed25519 key, binding its host, its current release and measurement,
 * and its current HPKE key. Faults make it unverifiable on purpose.
 */

/** SimulatorRelease is the code the simulated enclave claims to run. */
export interface SimulatorRelease {
  /** releaseDigest is 64 hex digits, like a Tinfoil release digest. */
  readonly releaseDigest: string;
  /** measurement holds the measured registers (hex). */
  readonly measurement: readonly string[];
  /** measurementFingerprint is developmentFingerprint(measurement), what a verifier reports. */
  readonly measurementFingerprint: string;
}

/** ReleaseSpec chooses a release explicitly; missing fields are derived from the release number. */
export interface ReleaseSpec {
  readonly releaseDigest?: string;
  readonly measurement?: readonly string[];
}

/**
 * AttestationFault breaks the served attestation: `bad-signature` serves a bundle whose signature
 * does not verify, `server-error` answers 500, `unavailable` answers 503 with a Retry-After, as an
 * attestation service does during a blip (overloaded, restarting).
 */
export type AttestationFault = 'bad-signature' | 'server-error' | 'unavailable';

const HEX64 = /^[0-9a-f]{64}$/;
const HEX = /^[0-9a-f]+$/;

/**
 * releaseFor is release number `n`: defaults are hashes of the number (a 48-byte register, the size
 * of an SEV-SNP launch measurement), so every simulator agrees on what release 0 or 1 looks like.
 */
export function releaseFor(n: number, spec: ReleaseSpec = {}): SimulatorRelease {
  const releaseDigest = spec.releaseDigest ?? createHash('sha256').update(`enclave-simulator release ${n}`).digest('hex');
  const measurement = spec.measurement ?? [createHash('sha384').update(`enclave-simulator measurement ${n}`).digest('hex')];
  if (!HEX64.test(releaseDigest)) throw new Error('releaseDigest must be 64 lowercase hex digits');
  if (measurement.length === 0 || !measurement.every((r) => HEX.test(r))) throw new Error('measurement must be one or more lowercase hex registers');
  return { releaseDigest, measurement: [...measurement], measurementFingerprint: developmentFingerprint(measurement) };
}

/** AttestationInput is everything the served bundle states or depends on. */
export interface AttestationInput {
  readonly domain: string;
  readonly release: SimulatorRelease;
  readonly hpkePublicKey: string;
  readonly fault: AttestationFault | null;
  /** validityMs, when set, is how long after `now` the attestation says it expires. */
  readonly validityMs?: number | null;
  readonly signingKey: KeyObject;
  readonly now: Date;
}

/** AttestationAnswer is the HTTP answer to `GET /attestation`. */
export interface AttestationAnswer {
  readonly status: number;
  readonly body: DevelopmentBundle | { readonly error: string };
  readonly headers?: Readonly<Record<string, string>>;
}

/** attestationAnswer builds the `GET /attestation` answer for the simulator's current state. */
export function attestationAnswer(input: AttestationInput): AttestationAnswer {
  if (input.fault === 'server-error') return { status: 500, body: { error: 'attestation unavailable (simulated fault)' } };
  if (input.fault === 'unavailable') return { status: 503, body: { error: 'attestation service unavailable (simulated blip)' }, headers: { 'retry-after': '1' } };
  const bundle = signDevelopmentBundle(
    {
      domain: input.domain,
      releaseDigest: input.release.releaseDigest,
      measurement: input.release.measurement,
      hpkePublicKey: input.hpkePublicKey,
      issuedAt: input.now.toISOString(),
      ...(input.validityMs == null ? {} : { expiresAt: new Date(input.now.getTime() + input.validityMs).toISOString() }),
    },
    input.signingKey,
  );
  if (input.fault !== 'bad-signature') return { status: 200, body: bundle };
  // Flip one bit of the signature: the bundle stays well-formed but no longer verifies.
  const signature = Buffer.from(bundle.signature, 'base64');
  signature[0] = (signature[0] ?? 0) ^ 0x01;
  return { status: 200, body: { ...bundle, signature: signature.toString('base64') } };
}
