import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { AttestationFailure, type AttestationResult } from './types.ts';

/**
 * Development trust: an attestation signed by a development key (the enclave simulator's) instead
 * of being rooted in AMD hardware and Sigstore. A proxy accepts it only when its configuration says
 * `attestation.trust: Development` and names the key; the operator allows that mode only when
 * started with `--allow-development-trust`.
 */
export const DEVELOPMENT_FORMAT = 'https://attested.dev/predicate/development/v1';

/** DevelopmentClaims is what a development attestation asserts about an upstream. */
export interface DevelopmentClaims {
  readonly domain: string;
  /** releaseDigest is 64 hex digits, like a real release digest. */
  readonly releaseDigest: string;
  /** measurement holds the measured registers (hex); their fingerprint identifies the code. */
  readonly measurement: readonly string[];
  /** hpkePublicKey is the upstream's X25519 HPKE key, 64 hex digits. */
  readonly hpkePublicKey: string;
  readonly tlsPublicKeyFingerprint?: string;
  readonly issuedAt: string;
  /** expiresAt (RFC 3339), when present, is when the attestation stops vouching for the upstream. */
  readonly expiresAt?: string;
}

/** DevelopmentBundle is served at `GET <bundleUrl>/attestation`; the signature covers the payload bytes. */
export interface DevelopmentBundle {
  readonly format: typeof DEVELOPMENT_FORMAT;
  /** payload is base64 of the JSON claims. */
  readonly payload: string;
  /** signature is base64 of the Ed25519 signature over the decoded payload bytes. */
  readonly signature: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** developmentFingerprint is the measurement fingerprint: sha256 over the register values in order. */
export function developmentFingerprint(measurement: readonly string[]): string {
  return createHash('sha256').update(`development${measurement.join('')}`).digest('hex');
}

/** signDevelopmentBundle signs `claims` with an Ed25519 private key. */
export function signDevelopmentBundle(claims: DevelopmentClaims, privateKey: KeyObject): DevelopmentBundle {
  const payload = Buffer.from(JSON.stringify(claims));
  return { format: DEVELOPMENT_FORMAT, payload: payload.toString('base64'), signature: sign(null, payload, privateKey).toString('base64') };
}

/** optionalTime accepts an absent value or an RFC 3339 time. */
function optionalTime(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));
}

function parseClaims(payload: Buffer): DevelopmentClaims {
  let claims: Partial<DevelopmentClaims>;
  try {
    claims = JSON.parse(payload.toString('utf8')) as Partial<DevelopmentClaims>;
  } catch (cause) {
    throw new AttestationFailure('format', 'development attestation payload is not JSON', { cause });
  }
  const valid =
    typeof claims.domain === 'string' &&
    typeof claims.releaseDigest === 'string' && HEX64.test(claims.releaseDigest) &&
    typeof claims.hpkePublicKey === 'string' && HEX64.test(claims.hpkePublicKey) &&
    Array.isArray(claims.measurement) && claims.measurement.every((r) => typeof r === 'string') &&
    typeof claims.issuedAt === 'string' &&
    optionalTime(claims.expiresAt);
  if (!valid) throw new AttestationFailure('format', 'development attestation payload lacks domain, releaseDigest, measurement, hpkePublicKey or issuedAt');
  return claims as DevelopmentClaims;
}

/**
 * verifyDevelopmentBundle checks the signature of `bundle` against `publicKeyPem` (an Ed25519 SPKI
 * public key) and returns what it attests. Any defect is an AttestationFailure naming the step.
 */
export function verifyDevelopmentBundle(bundle: unknown, publicKeyPem: string, now: Date = new Date()): AttestationResult {
  const b = bundle as Partial<DevelopmentBundle> | null;
  if (b?.format !== DEVELOPMENT_FORMAT || typeof b.payload !== 'string' || typeof b.signature !== 'string') {
    throw new AttestationFailure('format', `not a development attestation (expected format ${DEVELOPMENT_FORMAT})`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (cause) {
    throw new AttestationFailure('signature', 'the configured development public key is not a valid public key', { cause });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new AttestationFailure('signature', 'the development public key must be Ed25519');
  const payload = Buffer.from(b.payload, 'base64');
  if (!verify(null, payload, key, Buffer.from(b.signature, 'base64'))) {
    throw new AttestationFailure('signature', 'development attestation signature does not verify with the configured key');
  }
  const claims = parseClaims(payload);
  return {
    trust: 'Development',
    domain: claims.domain,
    releaseDigest: claims.releaseDigest,
    measurementFingerprint: developmentFingerprint(claims.measurement),
    hpkePublicKey: claims.hpkePublicKey,
    tlsPublicKeyFingerprint: claims.tlsPublicKeyFingerprint,
    verifiedAt: now,
    ...(claims.expiresAt === undefined ? {} : { expiresAt: new Date(claims.expiresAt) }),
  };
}
