import { ProxyError } from '../errors.ts';
import { createRecipient, type EhbpRecipient } from '../ehbp/client.ts';
import { checkPinnedDigest } from './policy.ts';
import { AttestationFailure, type AttestationResult, type AttestationVerifier } from './types.ts';

/** AttestationState is what the proxy currently knows about its upstream. */
export type AttestationState =
  | { readonly status: 'pending' }
  | { readonly status: 'verified'; readonly result: AttestationResult; readonly recipient: EhbpRecipient }
  | { readonly status: 'failed'; readonly failure: AttestationFailure; readonly previous?: AttestationResult };

/** AttestationPolicy is the endpoint's rule for which verified releases it accepts. */
export interface AttestationPolicy {
  readonly policy: 'Follow' | 'Pin';
  readonly pinnedDigests: readonly string[];
  readonly recheckIntervalSeconds: number;
  /** reattestMinIntervalSeconds is the least time between two re-attestations asked for on demand (default 30). */
  readonly reattestMinIntervalSeconds?: number;
}

/** AttestationEvents lets metrics and logs observe verifications without the manager knowing them. */
export interface AttestationEvents {
  verified?(result: AttestationResult, changed: boolean): void;
  failed?(failure: AttestationFailure, stillServing: boolean): void;
}

/** AttestationManager keeps the upstream verified, fails closed, and re-attests on demand. */
export interface AttestationManager {
  state(): AttestationState;
  /** require returns the verified upstream or throws the catalogued error callers receive. */
  require(): { result: AttestationResult; recipient: EhbpRecipient };
  /** reattest verifies again now; concurrent calls share one verification. */
  reattest(reason: string): Promise<AttestationState>;
  /**
   * reattestOnDemand is reattest for an upstream answer that says the key is stale. Callers can
   * provoke such answers, so at most one on-demand verification starts per
   * `reattestMinIntervalSeconds`; within it the current state is returned, unverified again.
   */
  reattestOnDemand(reason: string): Promise<AttestationState>;
  /**
   * milestones are when verification started (`start`) and when the upstream first verified, in
   * the manager's clock; readiness waits for the second within a window from the first.
   */
  milestones(): AttestationMilestones;
  start(): void;
  stop(): void;
}

/** AttestationMilestones are the moments readiness depends on (ms since the epoch). */
export interface AttestationMilestones {
  readonly startedAt: number | undefined;
  readonly firstVerifiedAt: number | undefined;
}

/** AttestationManagerDeps are the manager's collaborators; `now` and timers are injectable for tests. */
export interface AttestationManagerDeps {
  readonly verifier: AttestationVerifier;
  readonly policy: AttestationPolicy;
  readonly events?: AttestationEvents;
  readonly now?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  /** random spreads rechecks (tests pin it). */
  readonly random?: () => number;
}

const RETRY_MIN_MS = 1000;
/**
 * RECHECK_JITTER spreads each recheck over the last fifth of its delay: the proxies of an endpoint
 * (and every injected sidecar) start together on a rollout, and would otherwise verify in lockstep.
 */
const RECHECK_JITTER = 0.2;
const DEFAULT_REATTEST_MIN_INTERVAL_SECONDS = 30;

function defaultTimer(fn: () => void, ms: number): { cancel(): void } {
  const t = setTimeout(fn, ms);
  t.unref();
  return {
    cancel: () => {
      clearTimeout(t);
    },
  };
}

/**
 * createAttestationManager verifies the upstream before the first request and on every recheck.
 * A verification that fails (any step but fetching) fails closed at once. A failure only to fetch
 * the attestation keeps the previous verification, with its pinned key, for at most two recheck
 * intervals, so a blip of the attestation service does not stop traffic to an enclave whose key
 * is still the attested one; past that the proxy fails closed too.
 */
export function createAttestationManager(deps: AttestationManagerDeps): AttestationManager {
  return new Manager(deps);
}

class Manager implements AttestationManager {
  readonly #deps: AttestationManagerDeps;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #state: AttestationState = { status: 'pending' };
  #lastSuccessAt = 0;
  #startedAt: number | undefined;
  #firstVerifiedAt: number | undefined;
  #inFlight: Promise<AttestationState> | undefined;
  #timer: { cancel(): void } | undefined;
  #failures = 0;
  #running = false;
  readonly #demandMinMs: number;
  #lastDemandAt: number | undefined;

  constructor(deps: AttestationManagerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#intervalMs = deps.policy.recheckIntervalSeconds * 1000;
    this.#demandMinMs = (deps.policy.reattestMinIntervalSeconds ?? DEFAULT_REATTEST_MIN_INTERVAL_SECONDS) * 1000;
  }

  state(): AttestationState {
    return this.#state;
  }

  require(): { result: AttestationResult; recipient: EhbpRecipient } {
    const state = this.#state;
    if (state.status === 'verified') {
      const expiresAt = state.result.expiresAt;
      if (expiresAt !== undefined && this.#now() >= expiresAt.getTime()) {
        throw new ProxyError('attestation_expired', `the upstream's attestation expired at ${expiresAt.toISOString()} and no fresh verification has succeeded; nothing was sent`);
      }
      return { result: state.result, recipient: state.recipient };
    }
    if (state.status === 'pending') throw new ProxyError('attestation_pending', 'the upstream enclave has not been verified yet; nothing was sent');
    throw new ProxyError('attestation_failed', `upstream attestation failed at ${state.failure.step}: ${state.failure.message}; nothing was sent`);
  }

  reattestOnDemand(reason: string): Promise<AttestationState> {
    if (this.#inFlight) return this.#inFlight;
    const now = this.#now();
    if (this.#lastDemandAt !== undefined && now - this.#lastDemandAt < this.#demandMinMs) return Promise.resolve(this.#state);
    this.#lastDemandAt = now;
    return this.reattest(reason);
  }

  reattest(_reason: string): Promise<AttestationState> {
    this.#inFlight ??= this.#verify().then((next) => {
      this.#state = next;
      this.#inFlight = undefined;
      this.#schedule();
      return next;
    });
    return this.#inFlight;
  }

  milestones(): AttestationMilestones {
    return { startedAt: this.#startedAt, firstVerifiedAt: this.#firstVerifiedAt };
  }

  start(): void {
    this.#startedAt ??= this.#now();
    this.#running = true;
    void this.reattest('start');
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
  }

  async #verify(): Promise<AttestationState> {
    try {
      const next = this.#accept(await this.#deps.verifier.verify());
      this.#failures = 0;
      return next;
    } catch (error) {
      this.#failures += 1;
      return this.#reject(error);
    }
  }

  #accept(result: AttestationResult): AttestationState {
    if (this.#deps.policy.policy === 'Pin') checkPinnedDigest(result, this.#deps.policy.pinnedDigests);
    const previous = this.#state.status === 'verified' ? this.#state : undefined;
    const sameKey = previous?.recipient.publicKeyHex === result.hpkePublicKey.toLowerCase();
    const recipient = sameKey ? previous.recipient : createRecipient(result.hpkePublicKey);
    const changed =
      previous?.result.releaseDigest !== result.releaseDigest || previous.result.measurementFingerprint !== result.measurementFingerprint;
    this.#lastSuccessAt = this.#now();
    this.#firstVerifiedAt ??= this.#lastSuccessAt;
    this.#deps.events?.verified?.(result, changed);
    return { status: 'verified', result, recipient };
  }

  #reject(error: unknown): AttestationState {
    const failure = error instanceof AttestationFailure ? error : new AttestationFailure('format', (error as Error).message, { cause: error });
    const state = this.#state;
    const fresh = this.#now() - this.#lastSuccessAt < 2 * this.#intervalMs;
    const keepServing = failure.step === 'fetch' && state.status === 'verified' && fresh;
    this.#deps.events?.failed?.(failure, keepServing);
    if (keepServing) return state;
    const previous = state.status === 'verified' ? state.result : state.status === 'failed' ? state.previous : undefined;
    return previous ? { status: 'failed', failure, previous } : { status: 'failed', failure };
  }

  /**
   * beforeExpiry is how soon to verify again so that a document that expires is replaced in time:
   * at half its remaining validity (at least a second), or never sooner than otherwise scheduled.
   */
  #beforeExpiry(): number {
    const expiresAt = this.#state.status === 'verified' ? this.#state.result.expiresAt : undefined;
    if (expiresAt === undefined) return Infinity;
    return Math.max(RETRY_MIN_MS, (expiresAt.getTime() - this.#now()) / 2);
  }

  #schedule(): void {
    this.#timer?.cancel();
    if (!this.#running) return;
    const healthy = this.#state.status === 'verified' && this.#failures === 0;
    const due = Math.min(healthy ? this.#intervalMs : Math.min(this.#intervalMs, RETRY_MIN_MS * 2 ** Math.min(this.#failures - 1, 6)), this.#beforeExpiry());
    const delay = Math.round(due * (1 - RECHECK_JITTER * (this.#deps.random ?? Math.random)()));
    this.#timer = (this.#deps.setTimer ?? defaultTimer)(() => void this.reattest('recheck'), delay);
  }
}
