import { charge, take, type BucketLevel, type BucketStep } from './token-bucket.ts';
import type { BucketSpec, BucketState, BucketStore } from './types.ts';

/** MemoryStoreOptions bounds the in-memory store. */
export interface MemoryStoreOptions {
  /** maxBuckets caps memory; beyond it the least recently used buckets are forgotten. */
  readonly maxBuckets?: number;
  /** sweepIntervalMs is how often (in store time) buckets that are full again are dropped. */
  readonly sweepIntervalMs?: number;
}

/** MemoryBucketStore is a BucketStore for one replica, with its size and sweep exposed for tests and metrics. */
export interface MemoryBucketStore extends BucketStore {
  size(): number;
  /** sweep drops every bucket that is full again at `nowMs`. */
  sweep(nowMs: number): void;
}

interface Entry {
  readonly bucket: BucketLevel;
  /** fullAtMs is when the bucket will be full again; from then on it equals an absent bucket. */
  readonly fullAtMs: number;
}

/**
 * createMemoryStore keeps buckets in a Map, most recently used last. A full bucket behaves exactly
 * like an absent one (absent buckets start full), so buckets are dropped once full again: idle
 * callers cost nothing. Sweeps run inside operations, driven by the `nowMs` they are given, so the
 * store has no timers and tests control it through the clock alone. When more than `maxBuckets`
 * callers are in debt at once, the least recently used are forgotten, which forgives their debt:
 * the bound trades exactness for memory under a flood of distinct callers.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryBucketStore {
  const maxBuckets = options.maxBuckets ?? 100_000;
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const entries = new Map<string, Entry>();
  let lastSweepMs = -Infinity;

  const sweep = (nowMs: number): void => {
    lastSweepMs = nowMs;
    for (const [key, entry] of entries) if (entry.fullAtMs <= nowMs) entries.delete(key);
  };

  const save = (key: string, step: BucketStep, nowMs: number): BucketState => {
    entries.delete(key);
    if (step.state.resetMs > 0) entries.set(key, { bucket: step.next, fullAtMs: step.next.updatedAtMs + step.state.resetMs });
    if (nowMs - lastSweepMs >= sweepIntervalMs || entries.size > maxBuckets) sweep(nowMs);
    for (const oldest of entries.keys()) {
      if (entries.size <= maxBuckets) break;
      entries.delete(oldest);
    }
    return step.state;
  };

  return {
    // eslint-disable-next-line max-params -- the signature is BucketStore's, shared with the Redis store
    take: (key: string, spec: BucketSpec, amount: number, minimum: number, nowMs: number): Promise<BucketState> =>
      Promise.resolve(save(key, take(entries.get(key)?.bucket, spec, { amount, minimum }, nowMs), nowMs)),
    charge: (key: string, spec: BucketSpec, amount: number, nowMs: number): Promise<BucketState> =>
      Promise.resolve(save(key, charge(entries.get(key)?.bucket, spec, amount, nowMs), nowMs)),
    size: () => entries.size,
    sweep,
  };
}
