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
}

interface Upstream {
  readonly id: string;
  readonly label: string;
  readonly verifier: AttestationVerifier;
  readonly subscribers: Map<string, number>;
  observation: UpstreamObservation;
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
 * Development trust is refused unless the operator allows it.
 */
export class AttestationWatcher {
  readonly #deps: AttestationWatcherDeps;
  readonly #upstreams = new Map<string, Upstream>();
  readonly #endpointUpstream = new Map<string, string>();

  constructor(deps: AttestationWatcherDeps) {
    this.#deps = deps;
  }

  /** observe registers `endpointKey`'s interest in its upstream and returns what is known now. */
  observe(endpointKey: string, endpoint: InferenceEndpoint): UpstreamObservation {
    if (endpoint.spec.provider === 'openai-compatible') {
      this.forget(endpointKey);
      return { status: 'unattested' };
    }
    if (endpoint.spec.attestation.trust === 'Development' && !this.#deps.allowDevelopmentTrust) {
      this.forget(endpointKey);
      return { status: 'disallowed', message: 'spec.attestation.trust is Development, but the operator runs without --allow-development-trust; the proxies are not started trusting a development key.' };
    }
    const upstream = this.#subscribe(endpointKey, endpoint);
    if (upstream.observation.status === 'pending' && !upstream.inFlight) void this.#verify(upstream);
    return upstream.observation;
  }

  /** firstObservation waits (bounded) for the first verification of an endpoint's upstream. */
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

  stop(): void {
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
      upstream = { id, label: `${config.bundleUrl} (${config.trust})`, verifier: create(config), subscribers: new Map(), observation: { status: 'pending' } };
      this.#upstreams.set(id, upstream);
    }
    upstream.subscribers.set(endpointKey, durationSeconds(endpoint.spec.attestation.recheckInterval));
    this.#endpointUpstream.set(endpointKey, id);
    return upstream;
  }

  #verify(upstream: Upstream): Promise<UpstreamObservation> {
    upstream.inFlight ??= upstream.verifier.verify().then(
      (result): UpstreamObservation => ({ status: 'verified', result }),
      (error: unknown): UpstreamObservation => {
        const failure = error instanceof AttestationFailure ? error : new AttestationFailure('fetch', (error as Error).message);
        const before = upstream.observation;
        const previous = before.status === 'verified' ? before.result : before.status === 'failed' ? before.previous : undefined;
        return { status: 'failed', step: failure.step, message: failure.message, ...(previous ? { previous } : {}) };
      },
    ).then((next) => {
      upstream.inFlight = undefined;
      this.#settle(upstream, next);
      return next;
    });
    return upstream.inFlight;
  }

  #settle(upstream: Upstream, next: UpstreamObservation): void {
    if (!this.#upstreams.has(upstream.id)) return;
    const before = upstream.observation;
    upstream.observation = next;
    this.#deps.onVerification?.(upstream.label, next);
    const releaseChanged = next.status === 'verified' && before.status === 'verified' && !sameRelease(before.result, next.result);
    if (releaseChanged || observationKey(before) !== observationKey(next)) this.#deps.onUpdate([...upstream.subscribers.keys()], next);
    const intervalMs = Math.min(...upstream.subscribers.values()) * 1000;
    upstream.timer = (this.#deps.setTimer ?? defaultTimer)(() => void this.#verify(upstream), next.status === 'verified' ? intervalMs : Math.min(intervalMs, 5000));
  }
}
