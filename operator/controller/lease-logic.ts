/** LeaseRecord is the leader-election part of a coordination.k8s.io/v1 Lease; times are epoch milliseconds. */
export interface LeaseRecord {
  /** holderIdentity is '' when nobody holds the lease (after a release). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: number | undefined;
  readonly renewTime: number | undefined;
  readonly leaseTransitions: number;
}

/**
 * Observation is a lease record and the local time this replica first saw it in that state.
 * Expiry is judged from the observation, never from the record's renewTime, so clock skew between
 * replicas cannot make a live leader look expired (client-go's observedTime does the same).
 */
export interface Observation {
  readonly record: LeaseRecord;
  readonly observedAt: number;
}

/** Decision is what a candidate may do with the lease now: write `record`, or wait because `holder` holds it until `expiresAt`. */
export type Decision =
  | { readonly kind: 'acquire' | 'renew'; readonly record: LeaseRecord }
  | { readonly kind: 'held'; readonly holder: string; readonly expiresAt: number };

/** sameRecord compares two records field by field. */
export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return a.holderIdentity === b.holderIdentity
    && a.leaseDurationSeconds === b.leaseDurationSeconds
    && a.acquireTime === b.acquireTime
    && a.renewTime === b.renewTime
    && a.leaseTransitions === b.leaseTransitions;
}

/** observe keeps the previous observation while the record is unchanged, and starts a new one when it changed. */
export function observe(previous: Observation | undefined, record: LeaseRecord, now: number): Observation {
  return previous !== undefined && sameRecord(previous.record, record) ? previous : { record, observedAt: now };
}

/** expiresAt is when an observed lease lapses unless its holder renews it. */
export function expiresAt(observation: Observation): number {
  return observation.observedAt + observation.record.leaseDurationSeconds * 1000;
}

/**
 * decide says whether `identity` may take or keep the lease at `now`. With no lease object at all
 * it acquires; a lease held by someone else is left alone until its observed expiry; a free lease
 * (empty holder) or an expired one is acquired with one more transition; our own is renewed,
 * keeping its acquire time.
 */
export function decide(observation: Observation | undefined, identity: string, now: number, leaseDurationSeconds: number): Decision {
  if (observation === undefined) {
    return { kind: 'acquire', record: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } };
  }
  const { record } = observation;
  if (record.holderIdentity === identity) {
    return { kind: 'renew', record: { ...record, leaseDurationSeconds, renewTime: now } };
  }
  if (record.holderIdentity !== '' && expiresAt(observation) > now) {
    return { kind: 'held', holder: record.holderIdentity, expiresAt: expiresAt(observation) };
  }
  return {
    kind: 'acquire',
    record: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: record.leaseTransitions + 1 },
  };
}

/**
 * released is the record a leader writes when it steps down on purpose: no holder and a 1-second
 * duration (the API server rejects 0), so another replica acquires at its next retry instead of
 * waiting out the full lease.
 */
export function released(record: LeaseRecord, now: number): LeaseRecord {
  return { ...record, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
}

/** ElectionTimings are client-go's three leader-election durations. */
export interface ElectionTimings {
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** JITTER_FACTOR spreads candidates' retries, as client-go's leaderelection.JitterFactor. */
export const JITTER_FACTOR = 1.2;

/**
 * validateTimings enforces client-go's ordering: a leader gives up renewing (renew deadline) before
 * its lease can expire for others (lease duration), and gets several tries (retry period) in between.
 */
export function validateTimings(timings: ElectionTimings): void {
  const { leaseDurationSeconds, renewDeadlineMs, retryPeriodMs } = timings;
  if (!Number.isInteger(leaseDurationSeconds) || leaseDurationSeconds < 1) {
    throw new Error(`leaseDurationSeconds must be a positive integer, got ${leaseDurationSeconds}`);
  }
  if (!(leaseDurationSeconds * 1000 > renewDeadlineMs)) {
    throw new Error(`leaseDurationSeconds (${leaseDurationSeconds} s) must be longer than renewDeadlineMs (${renewDeadlineMs} ms)`);
  }
  if (!(retryPeriodMs > 0 && renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) {
    throw new Error(`renewDeadlineMs (${renewDeadlineMs} ms) must exceed ${JITTER_FACTOR} × retryPeriodMs (${retryPeriodMs} ms), which must be positive`);
  }
}
