import type { AttestationStep } from './types.ts';

/**
 * STEP_SUMMARIES is the one table of human sentences for attestation failures: the step is the
 * stable reason code (a metric label, a condition reason), the sentence opens every message, and
 * the verifier's own detail follows it.
 */
export const STEP_SUMMARIES: Readonly<Record<AttestationStep, string>> = {
  fetch: 'the attestation bundle could not be fetched',
  format: 'the attestation bundle is malformed or of the wrong kind',
  verifyEnclave: 'the AMD SEV-SNP report or its VCEK certificate chain does not verify',
  verifyCode: "the release's Sigstore code provenance does not verify for the configured repository",
  compareMeasurements: 'the enclave runs code other than the signed release',
  verifyCertificate: "the enclave's TLS certificate does not bind its domain, HPKE key and report",
  signature: 'the development attestation is not signed by the configured development key',
  policy: "the verified upstream is not one this endpoint's policy accepts",
};

/** stepMessage is the message of a failure at `step`: the table's sentence, then the detail. */
export function stepMessage(step: AttestationStep, detail: string): string {
  return `${STEP_SUMMARIES[step]}: ${detail}`;
}
