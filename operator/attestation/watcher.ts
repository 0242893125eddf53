import { createAttestationVerifier } from '../../proxy/attestation/verifier.ts';
import { AttestationFailure, type AttestationResult, type AttestationVerifier } from '../../proxy/attestation/types.ts';
import type { AttestationVerifierConfig } from '../../proxy/attestation/verifier.ts';
import { durationSeconds, upstreamUrl } from '../api/v1alpha1/values.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { canonicalJson } from '../resources/hash.ts';
import type { UpstreamObservation } from './observation.ts';

/** AttestationWatcherDeps: policy switches, collaborators and the callback that requeues endpoints. */
export interface AttestationWatcherDeps {
  /** allowDevelopmentTrust is the operator's --allow-development-trust flag (off by default). */
  readonly allowDevelopmentTrust: boolean;
  /** onUpdate is told which endpoints (namespace/name keys) share an upstream whose observation changed. */
  readonly onUpdate: (endpointKeys: readonly string[], observation: UpstreamObservation) => void;
  readonly createVerifier?: (config: AttestationVerifierConfig) => AttestationVerifier;
  readonly setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  /** onVerification observes every verification (metrics, logs). */
  readonly onVerification?: (upstream: string, observation: UpstreamObservation) => void;
  /** random feeds the recheck jitter and the retry backoff's jitter (tests pin it). */
  readonly random?: () => number;
  /** verifyTimeoutMs bounds one verification, whatever the verifier's own fetch timeouts (default VERIFY_TIMEOUT_MS). */
  readonly verifyTimeoutMs?: number;
}

/** VERIFY_TIMEOUT_MS bounds one verification of an upstream: a blackholed attestation service must fail, not hang. */
export const VERIFY_TIMEOUT_MS = 15_000;
/** RETRY_BASE_MS is the first retry after a failed verification; each further failure doubles it. */
export const RETRY_BASE_MS = 5000;
/** RETRY_CAP_MS caps the retry backoff of a failing upstream (never longer than its recheck interval either). */
export const RETRY_CAP_MS = 300_000;
/** RECHECK_JITTER spreads rechecks over the last fifth of the interval, so upstreams verified together drift apart. */
export const RECHECK_JITTER = 0.2;

/**
 * nextCheckMs is when to verify an upstream again: a verified one somewhere in the last
 * RECHECK_JITTER of its interval (never later than the interval the spec promises); a failing one
 * after an exponential backoff from RETRY_BASE_MS, capped by RETRY_CAP_MS and the interval, with
 * the same jitter, so a flapping attestation service is not hammered in lockstep.
 */
export function nextCheckMs(intervalMs: number, failures: number, random: () => number): number {
  const spread = (ms: number): number => Math.round(ms * (1 - RECHECK_JITTER * random()));
  if (failures === 0) return spread(intervalMs);
  const backoff = RETRY_BASE_MS * 2 ** Math.min(failures - 1, 16);
  return spread(Math.min(backoff, RETRY_CAP_MS, intervalMs));
}

/**
 * beforeExpiryMs is how soon a verified document that expires must be verified again: at half its
 * remaining validity (as the proxies do, docs/adr/0018-attestation-formats-and-expiry.md), never
 * sooner than RETRY_BASE_MS; Infinity for a document that does not expire.
 */
export function beforeExpiryMs(observation: UpstreamObservation, nowMs: number): number {
  const expiresAt = observation.status === 'verified' ? observation.result.expiresAt : undefined;
  if (expiresAt === undefined) return Infinity;
  return Math.max(RETRY_BASE_MS, (expiresAt.getTime() - nowMs) / 2);
}

interface Upstream {
  readonly id: string;
  readonly label: string;
  readonly verifier: AttestationVerifier;
  readonly subscribers: Map<string, number>;
  observation: UpstreamObservation;
  /** failures counts consecutive failed verifications, for the backoff. */
  failures: number;
  inFlight?: Promise<UpstreamObservation>;
  timer?: { cancel(): void };
}

function verifierConfig(endpoint: InferenceEndpoint): AttestationVerifierConfig {
  const a = endpoint.spec.attestation;
  const upstream = upstreamUrl(endpoint.spec);
  return {
    trust: a.trust,
    configRepo: a.configRepo,
    bundleUrl: a.bundleUrl,
    ...(a.developmentPublicKey !== undefined ? { developmentPublicKey: a.developmentPublicKey } : {}),
    ...(upstream ? { expectedDomain: new URL(upstream).host } : {}),
  };
}

function sameRelease(a: AttestationResult | undefined, b: AttestationResult | undefined): boolean {
  return a?.releaseDigest === b?.releaseDigest && a?.measurementFingerprint === b?.measurementFingerprint && a?.hpkePublicKey === b?.hpkePublicKey;
}

/** failedObservation is a failed verification, keeping the last verified result for status. */
function failedObservation(before: UpstreamObservation, error: unknown): UpstreamObservation {
  const failure = error instanceof AttestationFailure ? error : new AttestationFailure('fetch', (error as Error).message);
  const previous = before.status === 'verified' ? before.result : before.status === 'failed' ? before.previous : undefined;
  return { status: 'failed', step: failure.step, message: failure.message, ...(previous ? { previous } : {}) };
}

function observationKey(o: UpstreamObservation): string {
  if (o.status === 'verified') return `verified:${o.result.releaseDigest}:${o.result.measurementFingerprint}:${o.result.hpkePublicKey}`;
  if (o.status === 'failed') return `failed:${o.step}:${o.message}`;
  return o.status;
}

function defaultTimer(fn: () => void, ms: number): { cancel(): void } {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
}

/**
 * AttestationWatcher verifies each distinct upstream once per recheck interval, however many
 * endpoints use it (the shortest interval among them wins), and tells those endpoints when what it
 * observes changes: a new release, a failure, a recovery. Unattested providers are never fetched;
 * Development trust is refused unless the operator allows it. Nothing waits on it: `observe`
 * answers at once (Pending until the first verification) and `onUpdate` requeues the endpoints.
 * It verifies only while running: `pause` (leadership lost) cancels timers and aborts in-flight
 * verifications, `resume` (leadership gained) verifies every known upstream again.
 */
export class AttestationWatcher {
  readonly #deps: AttestationWatcherDeps;
  readonly #upstreams = new Map<string, Upstream>();
  readonly #endpointUpstream = new Map<string, string>();
  readonly #random: () => number;
  #term = new AbortController();
  #paused = false;

  constructor(deps: AttestationWatcherDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
  }

  /** pause stops verifying: timers are cancelled, in-flight verifications aborted and their results dropped. */
  pause(): void {
    this.#paused = true;
    this.#term.abort(new Error('attestation watcher paused'));
    for (const upstream of this.#upstreams.values()) {
      upstream.timer?.cancel();
      upstream.timer = undefined;
      upstream.inFlight = undefined;
    }
  }

  /** resume verifies again: every upstream still in use is verified now, then on its schedule. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#term = new AbortController();
    for (const upstream of this.#upstreams.values()) void this.#verify(upstream);
  }

  /** upstreamOf names the upstream an endpoint's proxies verify (its rollout group), once observed. */
  upstreamOf(endpointKey: string): string | undefined {
    return this.#endpointUpstream.get(endpointKey);
  }

  /** observe registers `endpointKey`'s interest in its upstream and returns what is known now. */
  observe(endpointKey: string, endpoint: InferenceEndpoint): UpstreamObservation {
    if (endpoint.spec.provider === 'openai-compatible') {
      this.forget(endpointKey);
      return { status: 'unattested' };
    }
    if (endpoint.spec.provider === 'privatemode') {
      this.forget(endpointKey);
      return { status: 'delegated' };
    }
    if (endpoint.spec.attestation.trust === 'Development' && !this.#deps.allowDevelopmentTrust) {
      this.forget(endpointKey);
      return { status: 'disallowed', message: 'spec.attestation.trust is Development, but the operator runs without --allow-development-trust; the proxies are not started trusting a development key.' };
    }
    const upstream = this.#subscribe(endpointKey, endpoint);
    if (upstream.observation.status === 'pending' && !upstream.inFlight && !this.#paused) void this.#verify(upstream);
    return upstream.observation;
  }

  /** firstObservation waits (bounded) for the first verification of an endpoint's upstream; for callers outside a reconcile, which uses `observe` and is requeued by `onUpdate`. */
  async firstObservation(endpointKey: string, endpoint: InferenceEndpoint, timeoutMs: number): Promise<UpstreamObservation> {
    const now = this.observe(endpointKey, endpoint);
    const upstream = this.#upstreams.get(this.#endpointUpstream.get(endpointKey) ?? '');
    if (now.status !== 'pending' || !upstream?.inFlight) return now;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<UpstreamObservation>((resolve) => (timer = setTimeout(() => resolve(upstream.observation), timeoutMs)));
    try {
      return await Promise.race([upstream.inFlight, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** forget drops an endpoint's interest; an upstream nobody uses stops being verified. */
  forget(endpointKey: string): void {
    const id = this.#endpointUpstream.get(endpointKey);
    if (id === undefined) return;
    this.#endpointUpstream.delete(endpointKey);
    const upstream = this.#upstreams.get(id);
    upstream?.subscribers.delete(endpointKey);
    if (upstream && upstream.subscribers.size === 0) {
      upstream.timer?.cancel();
      this.#upstreams.delete(id);
    }
  }

  /** upstreamCount is how many distinct upstreams are being watched. */
  upstreamCount(): number {
    return this.#upstreams.size;
  }

  /** stop ends verification for good and forgets every upstream. */
  stop(): void {
    this.#term.abort(new Error('attestation watcher stopped'));
    for (const upstream of this.#upstreams.values()) upstream.timer?.cancel();
    this.#upstreams.clear();
    this.#endpointUpstream.clear();
  }

  #subscribe(endpointKey: string, endpoint: InferenceEndpoint): Upstream {
    const config = verifierConfig(endpoint);
    const id = canonicalJson(config);
    if (this.#endpointUpstream.get(endpointKey) !== id) this.forget(endpointKey);
    let upstream = this.#upstreams.get(id);
    if (!upstream) {
      const create = this.#deps.createVerifier ?? ((c: AttestationVerifierConfig): AttestationVerifier => createAttestationVerifier(c));
      upstream = { id, label: `${config.bundleUrl} (${config.trust})`, verifier: create(config), subscribers: new Map(), observation: { status: 'pending' }, failures: 0 };
      this.#upstreams.set(id, upstream);
    }
    upstream.subscribers.set(endpointKey, durationSeconds(endpoint.spec.attestation.recheckInterval));
    this.#endpointUpstream.set(endpointKey, id);
    return upstream;
  }

  #verify(upstream: Upstream): Promise<UpstreamObservation> {
    const term = this.#term;
    upstream.inFlight ??= this.#bounded(upstream.verifier, term.signal).then(
      (result): UpstreamObservation => ({ status: 'verified', result }),
      (error: unknown): UpstreamObservation => failedObservation(upstream.observation, error),
    ).then((next) => {
      // A verification begun in an earlier term (before a pause) must not settle into this one.
      if (term.signal.aborted) return next;
      upstream.inFlight = undefined;
      this.#settle(upstream, next);
      return next;
    });
    return upstream.inFlight;
  }

  /**
   * #bounded runs one verification within verifyTimeoutMs: the verifier gets a signal that aborts
   * on the timeout or a pause, and the race makes sure no verifier that ignores it can hang a caller.
   */
  #bounded(verifier: AttestationVerifier, term: AbortSignal): Promise<AttestationResult> {
    const ms = this.#deps.verifyTimeoutMs ?? VERIFY_TIMEOUT_MS;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), ms);
    timer.unref();
    const expired = new Promise<never>((_resolve, reject) => {
      timeout.signal.addEventListener('abort', () => reject(new AttestationFailure('fetch', `verification timed out after ${String(ms)} ms`)), { once: true });
    });
    expired.catch(() => undefined);
    return Promise.race([verifier.verify(AbortSignal.any([term, timeout.signal])), expired]).finally(() => clearTimeout(timer));
  }

  #settle(upstream: Upstream, next: UpstreamObservation): void {
    if (!this.#upstreams.has(upstream.id)) return;
    const before = upstream.observation;
    upstream.observation = next;
    this.#deps.onVerification?.(upstream.label, next);
    const releaseChanged = next.status === 'verified' && before.status === 'verified' && !sameRelease(before.result, next.result);
    if (releaseChanged || observationKey(before) !== observationKey(next)) this.#deps.onUpdate([...upstream.subscribers.keys()], next);
    upstream.failures = next.status === 'failed' ? upstream.failures + 1 : 0;
    const intervalMs = Math.min(...upstream.subscribers.values()) * 1000;
    const due = Math.min(nextCheckMs(intervalMs, upstream.failures, this.#random), beforeExpiryMs(next, Date.now()));
    upstream.timer = (this.#deps.setTimer ?? defaultTimer)(() => void this.#verify(upstream), due);
  }
}
