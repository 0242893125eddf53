import type { AttestationResult, AttestationStep } from '../../proxy/attestation/types.ts';

/**
 * UpstreamObservation is what the operator's own verification of an upstream last established.
 * The proxies verify for themselves (they are the security boundary); this is for status, Events
 * and rollouts.
 */
export type UpstreamObservation =
  | { readonly status: 'pending' }
  | { readonly status: 'unattested' }
  /** delegated: another process attests (privatemode-proxy in the proxy pod); the operator verifies nothing itself. */
  | { readonly status: 'delegated' }
  | { readonly status: 'disallowed'; readonly message: string }
  | { readonly status: 'verified'; readonly result: AttestationResult }
  | { readonly status: 'failed'; readonly step: AttestationStep; readonly message: string; readonly previous?: AttestationResult };
