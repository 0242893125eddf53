import { stepMessage } from './steps.ts';
import { AttestationFailure, type AttestationResult } from './types.ts';

/** DNS names compare case-insensitively and with or without the root's trailing dot (RFC 4343). */
function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

function policyFailure(detail: string): AttestationFailure {
  return new AttestationFailure('policy', stepMessage('policy', detail));
}

/**
 * checkDomain fails at step `policy` when a verified attestation is for another domain than the
 * upstream the endpoint sends to (`expectedDomain`, a hostname without port): the enclave may be
 * genuine, but its HPKE key would encrypt requests to a machine we do not talk to.
 */
export function checkDomain(result: AttestationResult, expectedDomain: string): AttestationResult {
  if (normalizeHost(expectedDomain) !== normalizeHost(result.domain)) {
    throw policyFailure(`the attestation is for ${result.domain}, but the upstream is ${expectedDomain}`);
  }
  return result;
}

/**
 * checkPinnedDigest fails at step `policy` when the verified release is not one of `pinnedDigests`
 * (policy `Pin`); the message names the observed digest and the pinned ones.
 */
export function checkPinnedDigest(result: AttestationResult, pinnedDigests: readonly string[]): AttestationResult {
  if (!pinnedDigests.includes(result.releaseDigest)) {
    throw policyFailure(`release ${result.releaseDigest} is not pinned (attestation.pinnedDigests: ${pinnedDigests.join(', ') || 'none'})`);
  }
  return result;
}
