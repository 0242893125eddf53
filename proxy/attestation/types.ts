/**
 * TrustMode says who vouches for an upstream: `Verified` uses the real Tinfoil verifier (AMD
 * SEV-SNP report + Sigstore code provenance); `Development` trusts one named development signing
 * key (the enclave simulator's) and is never the default.
 */
export type TrustMode = 'Verified' | 'Development';

/** AttestationResult is what one successful verification of an upstream establishes. */
export interface AttestationResult {
  readonly trust: TrustMode;
  /** domain is the enclave host the attestation is bound to. */
  readonly domain: string;
  /** releaseDigest is the signed release's digest (hex); it changes with every release. */
  readonly releaseDigest: string;
  /** measurementFingerprint is the fingerprint of the enclave's measured code (hex). */
  readonly measurementFingerprint: string;
  /** hpkePublicKey is the enclave's X25519 HPKE key (hex, 32 bytes): request bodies are encrypted to it. */
  readonly hpkePublicKey: string;
  /** tlsPublicKeyFingerprint is the enclave's TLS key fingerprint (hex), when attested. */
  readonly tlsPublicKeyFingerprint: string | undefined;
  readonly verifiedAt: Date;
  /**
   * expiresAt is when the verified document stops vouching for the upstream (attestation v3's
   * collateral and freshness witnesses expire within days); after it, new requests stop until a
   * fresh verification succeeds. Undefined for documents that state no end (v2 bundles).
   */
  readonly expiresAt?: Date;
}

/**
 * AttestationStep names where a verification failed: fetching the bundle, the bundle's shape, the
 * hardware report (`verifyEnclave`), code provenance (`verifyCode`), the comparison of the two
 * measurements, the enclave certificate, the development signature, or the endpoint's policy
 * (wrong domain, digest not pinned).
 */
export type AttestationStep =
  | 'fetch'
  | 'format'
  | 'verifyEnclave'
  | 'verifyCode'
  | 'compareMeasurements'
  | 'verifyCertificate'
  | 'signature'
  | 'policy';

/** AttestationFailure is a failed verification, with the step that failed. */
export class AttestationFailure extends Error {
  readonly step: AttestationStep;

  constructor(step: AttestationStep, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'AttestationFailure';
    this.step = step;
  }
}

/** AttestationVerifier performs one full verification of an upstream (fetch + verify). */
export interface AttestationVerifier {
  verify(signal?: AbortSignal): Promise<AttestationResult>;
}
