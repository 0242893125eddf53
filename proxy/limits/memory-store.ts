import { charge, takeAll, type BucketLevel, type BucketStep } from './token-bucket.ts';
import type { BucketCharge, BucketRequest, BucketSpec, BucketState, BucketStore } from './types.ts';

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

  /** level is a bucket as stored; one past its fullAtMs (a budget past its window) is absent. */
  const level = (key: string, nowMs: number): BucketLevel | undefined => {
    const entry = entries.get(key);
    return entry === undefined || entry.fullAtMs <= nowMs ? undefined : entry.bucket;
  };

  const save = (key: string, spec: BucketSpec, step: BucketStep): BucketState => {
    entries.delete(key);
    const fullAtMs = Math.min(step.next.updatedAtMs + step.state.resetMs, spec.expireAtMs ?? Infinity);
    if (step.state.resetMs > 0 && fullAtMs > step.next.updatedAtMs) entries.set(key, { bucket: step.next, fullAtMs });
    return step.state;
  };

  const bound = (nowMs: number): void => {
    if (nowMs - lastSweepMs >= sweepIntervalMs || entries.size > maxBuckets) sweep(nowMs);
    for (const oldest of entries.keys()) {
      if (entries.size <= maxBuckets) break;
      entries.delete(oldest);
    }
  };

  return {
    take: (requests: readonly BucketRequest[], nowMs: number): Promise<BucketState[]> => {
      const ops = requests.map((r) => ({ key: r.key, current: level(r.key, nowMs), spec: r.spec, want: r }));
      const states = takeAll(ops, nowMs).map((step) => save(step.op.key, step.op.spec, step));
      bound(nowMs);
      return Promise.resolve(states);
    },
    charge: (charges: readonly BucketCharge[], nowMs: number): Promise<BucketState[]> => {
      const states = charges.map((c) => save(c.key, c.spec, charge(level(c.key, nowMs), c.spec, c.amount, nowMs)));
      bound(nowMs);
      return Promise.resolve(states);
    },
    size: () => entries.size,
    sweep,
  };
}
