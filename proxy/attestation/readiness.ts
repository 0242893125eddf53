/**
 * Readiness of a proxy process (`/readyz`): not ready until it has verified its upstream once,
 * bounded by the first-verification window; once verified, a failed recheck never makes it unready
 * again (docs/adr/0013, docs/adr/0001). A rollout therefore waits for new pods to verify while the
 * attestation service answers, and a provider outage still gives callers a clear 503 instead of an
 * empty Service.
 */

/** ReadinessReason says why a proxy is or is not ready. */
export type ReadinessReason =
  /** Unattested upstreams (openai-compatible) have nothing to verify. */
  | 'NothingToVerify'
  /** The upstream verified at least once since the process started. */
  | 'Verified'
  /** The window passed without a verification: ready, answering 503 attestation_pending/attestation_failed. */
  | 'WindowElapsed'
  /** The window is still open and the upstream has not verified yet. */
  | 'AwaitingFirstVerification';

/** Readiness is the `/readyz` answer and its reason. */
export interface Readiness {
  readonly ready: boolean;
  readonly reason: ReadinessReason;
}

/** ReadinessInput is what the decision looks at. */
export interface ReadinessInput {
  /** attested tells whether the provider verifies its upstream at all. */
  readonly attested: boolean;
  /** firstVerifiedAt is when the upstream first verified (ms), if it has. */
  readonly firstVerifiedAt: number | undefined;
  /** startedAt is when verification started (ms); the window runs from there. */
  readonly startedAt: number | undefined;
  readonly now: number;
  readonly windowMs: number;
}

type Check = (input: ReadinessInput) => Readiness | undefined;

const CHECKS: readonly Check[] = [
  (i) => (i.attested ? undefined : { ready: true, reason: 'NothingToVerify' }),
  (i) => (i.firstVerifiedAt === undefined ? undefined : { ready: true, reason: 'Verified' }),
  // A manager not started yet has an open window: its process has only just begun.
  (i) => (i.startedAt !== undefined && i.now - i.startedAt >= i.windowMs ? { ready: true, reason: 'WindowElapsed' } : undefined),
];

/** decideReadiness runs the checks in order; the first that decides wins, otherwise the proxy is still waiting. */
export function decideReadiness(input: ReadinessInput): Readiness {
  for (const check of CHECKS) {
    const decided = check(input);
    if (decided) return decided;
  }
  return { ready: false, reason: 'AwaitingFirstVerification' };
}
