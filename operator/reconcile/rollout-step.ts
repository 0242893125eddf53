import type { V1Deployment } from '@kubernetes/client-node';
import type { InferenceEndpoint, RolloutRecord } from '../api/v1alpha1/types.ts';
import type { RolloutPacer, Turn } from '../controller/rollout-pacer.ts';
import { rolloutSettled } from './status.ts';

/**
 * RolloutStep is what this pass does about the release on the pod template:
 * - `none`: nothing to roll (no change, or the change is already on the template);
 * - `record`: a new release transition; its RolloutRecord is written to status first, and only
 *   once that write succeeded is the template changed and the Event, counter and sidecar roll fired;
 * - `roll`: the transition is already recorded (a previous pass, or a previous leader, wrote the
 *   status and stopped before the Deployment): change the template, record and announce nothing again;
 * - `wait`: another endpoint of the same upstream holds the turn; keep the stamped release.
 */
export type RolloutStep =
  | { readonly kind: 'none' }
  | { readonly kind: 'record'; readonly record: RolloutRecord }
  | { readonly kind: 'roll'; readonly record: RolloutRecord }
  | { readonly kind: 'wait'; readonly turn: Extract<Turn, { granted: false }> };

/** alreadyRecorded tells whether the endpoint's status already records exactly this transition. */
export function alreadyRecorded(endpoint: InferenceEndpoint, wanted: RolloutRecord): boolean {
  const last = endpoint.status?.attestation?.lastRollout;
  return last !== undefined && last.toDigest === wanted.toDigest && last.fromDigest === wanted.fromDigest && last.reason === wanted.reason;
}

/** RolloutStepInput: the endpoint, the transition releaseToStamp wants (if any), and its pacing group. */
export interface RolloutStepInput {
  readonly key: string;
  readonly endpoint: InferenceEndpoint;
  readonly wanted: RolloutRecord | undefined;
  /** group is the endpoint's upstream (AttestationWatcher.upstreamOf); absent, nothing is paced. */
  readonly group: string | undefined;
}

/**
 * rolloutStep decides the pass's RolloutStep: a wanted transition needs a turn from the pacer
 * (none: unpaced), then is recorded unless the status already holds it. Idempotent on the digest
 * transition, so a conflict or a crash between the status write and the Deployment write neither
 * loses nor repeats the record.
 */
export function rolloutStep(input: RolloutStepInput, pacer: RolloutPacer | undefined): RolloutStep {
  const { wanted } = input;
  if (wanted === undefined) return { kind: 'none' };
  if (pacer !== undefined && input.group !== undefined) {
    const turn = pacer.request(input.group, input.key);
    if (!turn.granted) return { kind: 'wait', turn };
  }
  return alreadyRecorded(input.endpoint, wanted) ? { kind: 'roll', record: wanted } : { kind: 'record', record: wanted };
}

/**
 * reportProgress tells the pacer about a rollout this pass found on the template: one the status
 * records as going to the stamped release holds a turn until its Deployment rolled out (a
 * previous leader may have started it), then the turn is freed for the next endpoint.
 */
export function reportProgress(pacer: RolloutPacer | undefined, input: { key: string; group: string | undefined; endpoint: InferenceEndpoint; deployment: V1Deployment | undefined; stamped: string | undefined }): void {
  if (pacer === undefined || input.group === undefined || input.stamped === undefined) return;
  if (rolloutSettled(input.deployment, input.endpoint.spec.replicas)) {
    pacer.settled(input.group, input.key);
    return;
  }
  if (input.endpoint.status?.attestation?.lastRollout?.toDigest === input.stamped) pacer.occupy(input.group, input.key);
}
