import type { V1Deployment } from '@kubernetes/client-node';
import { boundedMessage, REASONS, type Reason } from '../api/v1alpha1/conditions.ts';
import type { AttestationStatus, Condition, InferenceEndpoint, InferenceEndpointStatus, RolloutRecord } from '../api/v1alpha1/types.ts';
import type { UpstreamObservation } from '../attestation/observation.ts';
import type { AttestationResult } from '../../proxy/attestation/types.ts';
import { selectorLabels } from '../resources/names.ts';
import { availableCondition } from './availability.ts';

/** Problem is something found while gathering that the Degraded condition reports. */
export interface Problem {
  readonly reason: Extract<Reason, 'SecretNotFound' | 'SecretKeyMissing' | 'InvalidSpec' | 'ReconcileError' | 'LimitsStoreUnreachable' | 'LimitsStoreNotAllowed' | 'NameConflict' | 'RolloutStuck'>;
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
  /**
   * childrenWritten says every child of this generation was written (none failed or was held back):
   * only then do status.observedGeneration and the conditions' advance to it (docs/adr/0014-ready-and-available.md).
   */
  readonly childrenWritten: boolean;
  /** routableAddresses counts the ready addresses the endpoint's Service's EndpointSlices list (undefined: not known). */
  readonly routableAddresses: number | undefined;
  /** serviceReached: a connection through the Service went through (undefined: not probed; availability.ts). */
  readonly serviceReached?: boolean;
}

/** PendingCondition is a condition before its transition time is known. */
export type PendingCondition = Omit<Condition, 'lastTransitionTime'>;

/**
 * condition is the condition `reason` belongs to, with its status, its sentence or a more specific
 * message (cut to MESSAGE_LIMIT: API errors can be long), and the generation it speaks for (none
 * before any generation's children were written).
 */
export function condition(reason: Reason, generation: number | undefined, message?: string): PendingCondition {
  const entry = REASONS[reason];
  return { type: entry.type, status: entry.status, reason, message: boundedMessage(message ?? entry.sentence), ...(generation === undefined ? {} : { observedGeneration: generation }) };
}

function readyCondition(i: StatusInputs, generation: number | undefined): PendingCondition {
  const want = i.endpoint.spec.replicas;
  if (want === 0) return condition('ScaledToZero', generation);
  const s = i.deployment?.status ?? {};
  const ready = s.readyReplicas ?? 0;
  const counts = `${String(ready)} of ${String(want)} proxy pods are ready.`;
  if (rolloutSettled(i.deployment, want)) return condition('ProxyPodsReady', generation, counts);
  if (templateRolled(i.deployment, want)) return condition('WaitingForPods', generation, counts);
  const old = Math.max(0, (s.replicas ?? 0) - (s.updatedReplicas ?? 0));
  return condition('WaitingForRollout', generation, `${String(s.updatedReplicas ?? 0)} of ${String(want)} proxy pods run the current template, ${String(old)} of an older one remain; ${counts}`);
}

function attestedCondition(i: StatusInputs, generation: number | undefined): PendingCondition {
  const o = i.observation;
  const pinned = i.endpoint.spec.attestation.policy === 'Pin' ? (i.endpoint.spec.attestation.pinnedDigests ?? []) : undefined;
  switch (o.status) {
    case 'pending':
      return condition('Pending', generation);
    case 'unattested':
      return condition('Unattested', generation);
    case 'delegated':
      return condition('Delegated', generation);
    case 'disallowed':
      return condition('DevelopmentTrustDisabled', generation, o.message);
    case 'failed':
      return failedCondition(o, i.now, generation);
    case 'verified':
      return verifiedCondition(o.result, pinned, i.now, generation);
  }
}

/** failedCondition is Attested after a failed verification: proxies serve on the last verified document until it expires, then stop. */
function failedCondition(o: Extract<UpstreamObservation, { status: 'failed' }>, now: Date, generation: number | undefined): PendingCondition {
  const expiresAt = o.previous?.expiresAt;
  if (o.previous !== undefined && expiresAt !== undefined && now.getTime() >= expiresAt.getTime()) {
    return condition('AttestationExpired', generation, `The attestation of release ${o.previous.releaseDigest} expired at ${expiresAt.toISOString()}; verification since failed at ${o.step}: ${o.message}`);
  }
  return condition('AttestationFailed', generation, `Verification failed at ${o.step}: ${o.message}`);
}

/** verifiedCondition is Attested for a verified upstream: its release must be pinned (under Pin) and its document unexpired. */
function verifiedCondition(result: AttestationResult, pinned: readonly string[] | undefined, now: Date, generation: number | undefined): PendingCondition {
  const digest = result.releaseDigest;
  if (pinned && !pinned.includes(digest)) {
    return condition('PinnedDigestMismatch', generation, `The upstream runs release ${digest}, which is not pinned (pinned: ${pinned.join(', ')}); proxies refuse traffic until spec.attestation.pinnedDigests accepts it.`);
  }
  const expiresAt = result.expiresAt;
  if (expiresAt !== undefined && now.getTime() >= expiresAt.getTime()) {
    return condition('AttestationExpired', generation, `The attestation of release ${digest} expired at ${expiresAt.toISOString()} and no fresh verification has succeeded since; proxies refuse new requests until one does.`);
  }
  const reason = result.trust === 'Development' ? 'DevelopmentTrust' : 'Verified';
  return condition(reason, generation, `${REASONS[reason].sentence} Release ${digest}.`);
}

/**
 * templateRolled says whether the Deployment controller has observed the Deployment's current
 * generation (its status speaks for the template last written) and every pod runs that template:
 * updated pods cover spec.replicas and none of an older template is left.
 */
export function templateRolled(d: V1Deployment | undefined, want: number): boolean {
  if (d === undefined) return false;
  const s = d.status ?? {};
  const seen = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  return seen && (s.updatedReplicas ?? 0) >= want && (s.replicas ?? 0) <= want;
}

/** rolloutSettled says whether the Deployment controller has seen the latest template, every pod runs it and is available. */
export function rolloutSettled(d: V1Deployment | undefined, want: number): boolean {
  return templateRolled(d, want) && (d?.status?.availableReplicas ?? 0) >= want;
}

/**
 * rolloutStuck is Degraded's RolloutStuck when the Deployment controller reports a rollout that
 * cannot go on: ReplicaFailure (pods cannot be created, e.g. a ResourceQuota forbids the surge
 * pod) or Progressing=False ProgressDeadlineExceeded
 * (kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment), with its message.
 */
export function rolloutStuck(d: V1Deployment | undefined): Problem | undefined {
  const conditions = d?.status?.conditions ?? [];
  const failure = conditions.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  const deadline = conditions.find((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded');
  const found = failure ?? deadline;
  if (found === undefined) return undefined;
  return { reason: 'RolloutStuck', message: `The proxy Deployment reports ${found.type} ${found.reason ?? ''}: ${found.message ?? ''}` };
}

function progressingCondition(i: StatusInputs, generation: number | undefined): PendingCondition {
  const want = i.endpoint.spec.replicas;
  if (rolloutSettled(i.deployment, want)) return condition('RolloutComplete', generation);
  const updated = i.deployment?.status?.updatedReplicas ?? 0;
  return condition('RollingOut', generation, `${String(updated)} of ${String(want)} proxy pods run the current template.`);
}

function degradedCondition(i: StatusInputs, generation: number | undefined): PendingCondition {
  const first = i.problems[0] ?? rolloutStuck(i.deployment);
  return first ? condition(first.reason, generation, first.message) : condition('Healthy', generation);
}

/** withTransitionTimes keeps a condition's lastTransitionTime while its status is unchanged (metav1.Condition semantics). */
export function withTransitionTimes(next: readonly PendingCondition[], previous: readonly Condition[] | undefined, now: Date): Condition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...c, lastTransitionTime };
  });
}

/** UNVERIFIED_TRUST is status.attestation.trust for upstreams the operator verifies nothing of. */
const UNVERIFIED_TRUST = { unattested: 'Unattested', delegated: 'Delegated' } as const;

function attestationStatus(i: StatusInputs): AttestationStatus | undefined {
  const o = i.observation;
  const previous = i.endpoint.status?.attestation;
  const lastRollout = i.lastRollout ?? previous?.lastRollout;
  const rollout = lastRollout ? { lastRollout } : {};
  const result = o.status === 'verified' ? o.result : o.status === 'failed' ? o.previous : undefined;
  if (o.status === 'unattested' || o.status === 'delegated') return { trust: UNVERIFIED_TRUST[o.status], ...rollout };
  if (!result) return previous ? { ...previous, ...rollout } : undefined;
  return {
    trust: result.trust,
    releaseDigest: result.releaseDigest,
    measurementFingerprint: result.measurementFingerprint,
    verifiedAt: result.verifiedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...rollout,
  };
}

/**
 * observedGenerationOf is the generation the status speaks for: the endpoint's current one when
 * every child of it was written, else the one last written in full (a failed write leaves it behind,
 * so neither `kubectl wait` nor the webhook takes the failed generation for done).
 */
export function observedGenerationOf(endpoint: InferenceEndpoint, childrenWritten: boolean): number | undefined {
  return childrenWritten ? (endpoint.metadata.generation ?? 0) : endpoint.status?.observedGeneration;
}

/** selectorString is the proxy pods' label selector as a string, for status.selector (the scale subresource's labelSelectorPath). */
export function selectorString(endpoint: InferenceEndpoint): string {
  return Object.entries(selectorLabels(endpoint)).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',');
}

/** computeStatus derives the endpoint's status from what was gathered; pure. */
export function computeStatus(i: StatusInputs): InferenceEndpointStatus {
  const generation = observedGenerationOf(i.endpoint, i.childrenWritten);
  const ready = readyCondition(i, generation);
  const attested = attestedCondition(i, generation);
  const available = availableCondition({ endpoint: i.endpoint, ready, attested, routableAddresses: i.routableAddresses, ...(i.serviceReached === undefined ? {} : { serviceReached: i.serviceReached }) }, generation);
  const conditions = withTransitionTimes([available, ready, attested, progressingCondition(i, generation), degradedCondition(i, generation)], i.endpoint.status?.conditions, i.now);
  const attestation = attestationStatus(i);
  return {
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions,
    readyReplicas: i.deployment?.status?.readyReplicas ?? 0,
    replicas: i.deployment?.status?.replicas ?? 0,
    selector: selectorString(i.endpoint),
    url: i.url,
    ...(attestation ? { attestation } : {}),
  };
}
