import type { BucketSpec, BucketState } from './types.ts';

/**
 * The token bucket, as pure functions on `{ level, updatedAtMs }`. Every store runs exactly this:
 * the in-memory store calls these functions, and the Redis store's Lua script mirrors them line for
 * line (same constants, same rounding), so replicas sharing Redis decide as one replica would.
 */

/** BucketLevel is what a store keeps per bucket: its level at `updatedAtMs`. An absent bucket is full. */
export interface BucketLevel {
  readonly level: number;
  readonly updatedAtMs: number;
}

/** BucketStep is the outcome of one operation: the level to store and the state to report. */
export interface BucketStep {
  readonly next: BucketLevel;
  readonly state: BucketState;
}

/**
 * EPSILON is the slack, in tokens, allowed when comparing levels. Refill rates such as 60 per
 * minute are not exact binary fractions, so a level that should be exactly 1 can come out a hair
 * below; a millionth of a token absorbs that without changing any real decision, and keeps a
 * retry-after of exactly one second from becoming two.
 */
export const EPSILON = 1e-6;

/** specFor is the bucket for a per-minute rate with a burst (capacity) that defaults to the rate. */
export function specFor(perMinute: number, burst?: number): BucketSpec {
  return { capacity: burst ?? perMinute, refillPerMs: perMinute / 60_000 };
}

/**
 * msUntilRefilled is the smallest whole number of milliseconds after which `deficit` tokens have
 * flowed in; Infinity for a bucket that never refills (a spend budget, replaced at its window's end).
 */
export function msUntilRefilled(deficit: number, spec: BucketSpec): number {
  if (deficit <= EPSILON) return 0;
  if (spec.refillPerMs === 0) return Infinity;
  return Math.ceil((deficit - EPSILON / 2) / spec.refillPerMs);
}

/**
 * refill brings a bucket up to `nowMs`: it gains `refillPerMs` per elapsed millisecond up to its
 * capacity. Time never runs backwards for a bucket: a caller whose clock is behind the last
 * writer's (another replica sharing Redis) refills nothing rather than draining the bucket.
 */
export function refill(current: BucketLevel | undefined, spec: BucketSpec, nowMs: number): BucketLevel {
  if (current === undefined) return { level: spec.capacity, updatedAtMs: nowMs };
  const elapsed = Math.max(0, nowMs - current.updatedAtMs);
  return {
    level: Math.min(spec.capacity, current.level + elapsed * spec.refillPerMs),
    updatedAtMs: Math.max(nowMs, current.updatedAtMs),
  };
}

function stateOf(next: BucketLevel, spec: BucketSpec, allowed: boolean, retryAfterMs: number): BucketState {
  return {
    allowed,
    capacity: spec.capacity,
    remaining: next.level,
    retryAfterMs,
    resetMs: msUntilRefilled(spec.capacity - next.level, spec),
  };
}

/** TakeRequest is what `take` asks of a bucket: remove `amount` if it holds at least `minimum`. */
export interface TakeRequest {
  readonly amount: number;
  readonly minimum: number;
}

/**
 * take removes `amount` when the refilled bucket holds at least `minimum`, and otherwise changes
 * nothing and says how long until it would hold `minimum`. `amount` 0 with a `minimum` is a check
 * that consumes nothing (how a request is held back while its token bucket is in debt).
 */
export function take(current: BucketLevel | undefined, spec: BucketSpec, want: TakeRequest, nowMs: number): BucketStep {
  const [step] = takeAll([{ current, spec, want }], nowMs);
  if (step === undefined) throw new Error('unreachable: one operation yields one step');
  return step;
}

/** BucketOp is one bucket of an atomic batch: the bucket's level as stored, its spec and what is asked of it. */
export interface BucketOp {
  readonly current: BucketLevel | undefined;
  readonly spec: BucketSpec;
  readonly want: TakeRequest;
}

/**
 * takeAll is `take` over several buckets at once, all or nothing: every bucket is refilled and
 * checked against its `minimum`, and only when all of them hold it is each one's `amount` removed.
 * A request thus spends nothing (not even its request) when any of its limits refuses it. Each
 * bucket reports its own state: a bucket that would have allowed is `allowed` even when another
 * bucket refused the batch.
 */
export function takeAll<T extends BucketOp>(ops: readonly T[], nowMs: number): (BucketStep & { readonly op: T })[] {
  const checked = ops.map((op) => {
    const bucket = refill(op.current, op.spec, nowMs);
    return { op, bucket, passes: bucket.level >= op.want.minimum - EPSILON };
  });
  const all = checked.every((c) => c.passes);
  return checked.map(({ op, bucket, passes }) => {
    if (!passes) return { op, next: bucket, state: stateOf(bucket, op.spec, false, msUntilRefilled(op.want.minimum - bucket.level, op.spec)) };
    const next = all ? { level: bucket.level - op.want.amount, updatedAtMs: bucket.updatedAtMs } : bucket;
    return { op, next, state: stateOf(next, op.spec, true, 0) };
  });
}

/**
 * charge removes `amount` unconditionally: the real token count, known only after the response.
 * The level may go negative; that debt holds later requests back until it has refilled. A negative
 * amount gives back what a reservation held beyond the request's real use, up to the capacity.
 */
export function charge(current: BucketLevel | undefined, spec: BucketSpec, amount: number, nowMs: number): BucketStep {
  const refilled = refill(current, spec, nowMs);
  const next = { level: Math.min(spec.capacity, refilled.level - amount), updatedAtMs: refilled.updatedAtMs };
  return { next, state: stateOf(next, spec, true, 0) };
}
