import type { V1Deployment } from '@kubernetes/client-node';
import { REASONS, type Reason } from '../api/v1alpha1/conditions.ts';
import type { AttestationStatus, Condition, InferenceEndpoint, InferenceEndpointStatus, RolloutRecord } from '../api/v1alpha1/types.ts';
import type { UpstreamObservation } from '../attestation/observation.ts';

/** Problem is something found while gathering that the Degraded condition reports. */
export interface Problem {
  readonly reason: Extract<Reason, 'SecretNotFound' | 'SecretKeyMissing' | 'InvalidSpec' | 'ReconcileError' | 'LimitsStoreUnreachable' | 'LimitsStoreNotAllowed' | 'NameConflict'>;
  readonly message: string;
}

/** StatusInputs is everything the status is computed from; gathering them is the only I/O. */
export interface StatusInputs {
  readonly endpoint: InferenceEndpoint;
  readonly deployment: V1Deployment | undefined;
  readonly observation: UpstreamObservation;
  readonly problems: readonly Problem[];
  readonly url: string;
  readonly lastRollout?: RolloutRecord;
  readonly now: Date;
}

function condition(reason: Reason, generation: number, message?: string): Omit<Condition, 'lastTransitionTime'> {
  const entry = REASONS[reason];
  return { type: entry.type, status: entry.status, reason, message: message ?? entry.sentence, observedGeneration: generation };
}

function readyCondition(i: StatusInputs, generation: number): Omit<Condition, 'lastTransitionTime'> {
  const want = i.endpoint.spec.replicas;
  if (want === 0) return condition('ScaledToZero', generation);
  const ready = i.deployment?.status?.readyReplicas ?? 0;
  if (ready >= want) return condition('ProxyPodsReady', generation, `${String(ready)} of ${String(want)} proxy pods are ready.`);
  return condition('WaitingForPods', generation, `${String(ready)} of ${String(want)} proxy pods are ready.`);
}

function attestedCondition(i: StatusInputs, generation: number): Omit<Condition, 'lastTransitionTime'> {
  const o = i.observation;
  const pinned = i.endpoint.spec.attestation.policy === 'Pin' ? (i.endpoint.spec.attestation.pinnedDigests ?? []) : undefined;
  switch (o.status) {
    case 'pending':
      return condition('Pending', generation);
    case 'unattested':
      return condition('Unattested', generation);
    case 'disallowed':
      return condition('DevelopmentTrustDisabled', generation, o.message);
    case 'failed':
      return condition('AttestationFailed', generation, `Verification failed at ${o.step}: ${o.message}`);
    case 'verified': {
      const digest = o.result.releaseDigest;
      if (pinned && !pinned.includes(digest)) {
        return condition('PinnedDigestMismatch', generation, `The upstream runs release ${digest}, which is not pinned (pinned: ${pinned.join(', ')}); proxies refuse traffic until spec.attestation.pinnedDigests accepts it.`);
      }
      const reason = o.result.trust === 'Development' ? 'DevelopmentTrust' : 'Verified';
      return condition(reason, generation, `${REASONS[reason].sentence} Release ${digest}.`);
    }
  }
}

/** rolloutSettled says whether the Deployment controller has seen the latest template and every pod runs it. */
export function rolloutSettled(d: V1Deployment | undefined, want: number): boolean {
  if (d === undefined) return false;
  const s = d.status ?? {};
  const seen = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const count = (n: number | undefined): number => n ?? 0;
  return seen && count(s.updatedReplicas) >= want && count(s.replicas) <= want && count(s.availableReplicas) >= want;
}

function progressingCondition(i: StatusInputs, generation: number): Omit<Condition, 'lastTransitionTime'> {
  const want = i.endpoint.spec.replicas;
  if (rolloutSettled(i.deployment, want)) return condition('RolloutComplete', generation);
  const updated = i.deployment?.status?.updatedReplicas ?? 0;
  return condition('RollingOut', generation, `${String(updated)} of ${String(want)} proxy pods run the current template.`);
}

function degradedCondition(i: StatusInputs, generation: number): Omit<Condition, 'lastTransitionTime'> {
  const first = i.problems[0];
  return first ? condition(first.reason, generation, first.message) : condition('Healthy', generation);
}

/** withTransitionTimes keeps a condition's lastTransitionTime while its status is unchanged (metav1.Condition semantics). */
export function withTransitionTimes(next: readonly Omit<Condition, 'lastTransitionTime'>[], previous: readonly Condition[] | undefined, now: Date): Condition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...c, lastTransitionTime };
  });
}

function attestationStatus(i: StatusInputs): AttestationStatus | undefined {
  const o = i.observation;
  const previous = i.endpoint.status?.attestation;
  const lastRollout = i.lastRollout ?? previous?.lastRollout;
  const result = o.status === 'verified' ? o.result : o.status === 'failed' ? o.previous : undefined;
  if (o.status === 'unattested') return { trust: 'Unattested', ...(lastRollout ? { lastRollout } : {}) };
  if (!result) return previous ? { ...previous, ...(lastRollout ? { lastRollout } : {}) } : undefined;
  return {
    trust: result.trust,
    releaseDigest: result.releaseDigest,
    measurementFingerprint: result.measurementFingerprint,
    verifiedAt: result.verifiedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(lastRollout ? { lastRollout } : {}),
  };
}

/** computeStatus derives the endpoint's status from what was gathered; pure. */
export function computeStatus(i: StatusInputs): InferenceEndpointStatus {
  const generation = i.endpoint.metadata.generation ?? 0;
  const conditions = withTransitionTimes(
    [readyCondition(i, generation), attestedCondition(i, generation), progressingCondition(i, generation), degradedCondition(i, generation)],
    i.endpoint.status?.conditions,
    i.now,
  );
  const attestation = attestationStatus(i);
  return {
    observedGeneration: generation,
    conditions,
    readyReplicas: i.deployment?.status?.readyReplicas ?? 0,
    url: i.url,
    ...(attestation ? { attestation } : {}),
  };
}
