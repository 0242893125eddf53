import { describe, expect, it } from 'vitest';
import { bucketStoreContract } from '../../test/harness/bucket-store-cases.ts';
import { createMemoryStore } from './memory-store.ts';
import { specFor } from './token-bucket.ts';
import type { BucketStore } from './types.ts';

const spec = specFor(60, 2); // one per second, burst of two

/** take and charge act on one bucket of the batch API, as most cases here need. */
// eslint-disable-next-line max-params -- the old single-bucket signature keeps these cases readable
async function take(store: BucketStore, key: string, amount: number, minimum: number, nowMs: number): Promise<number> {
  const [state] = await store.take([{ key, spec, amount, minimum }], nowMs);
  return state!.remaining;
}
async function charge(store: BucketStore, key: string, amount: number, nowMs: number): Promise<void> {
  await store.charge([{ key, spec, amount }], nowMs);
}

describe('memory bucket store: the store contract', () => {
  bucketStoreContract(() => createMemoryStore());
});

describe('memory bucket store', () => {
  it('keeps a bucket only while it is below capacity', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 1_000_000 });
    expect((await take(store, 'a', 0, 1, 0))).toBe(2); // a check on a full bucket stores nothing
    expect(store.size()).toBe(0);
    await take(store, 'a', 1, 1, 0);
    expect(store.size()).toBe(1);
    await take(store, 'a', 1, 1, 1000); // refilled to full, then one taken again
    expect(store.size()).toBe(1);
    await take(store, 'a', 0, 1, 2000); // full again: dropped on touch
    expect(store.size()).toBe(0);
  });

  it('drops idle buckets once they are full again, on the sweep interval', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 10_000 });
    await take(store, 'a', 2, 1, 0); // full again at 2 s
    await charge(store, 'b', 30, 0); // in debt: full again at 32 s
    expect(store.size()).toBe(2);
    await take(store, 'c', 1, 1, 5_000); // no sweep yet
    expect(store.size()).toBe(3);
    await take(store, 'c', 1, 1, 10_000); // sweep: a and c are full again, c is taken again
    expect(store.size()).toBe(2);
    store.sweep(40_000);
    expect(store.size()).toBe(0);
    expect((await take(store, 'b', 0, 1, 40_000))).toBe(2); // forgotten equals full
  });

  it('stays within maxBuckets, forgetting the least recently used', async () => {
    const store = createMemoryStore({ maxBuckets: 2, sweepIntervalMs: 1_000_000 });
    await charge(store, 'a', 10, 0);
    await charge(store, 'b', 10, 0);
    await take(store, 'a', 0, 1, 1); // touch a
    await charge(store, 'c', 10, 2);
    expect(store.size()).toBe(2);
    expect((await take(store, 'b', 0, 0, 3))).toBe(2); // b was forgotten
    expect((await take(store, 'a', 0, 0, 3))).toBeLessThan(0);
  });
});

describe('memory bucket store: budget windows', () => {
  it('forgets a bucket at its expiry, whatever its level', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 1_000_000 });
    const budget = { capacity: 100, refillPerMs: 0, expireAtMs: 10_000 };
    await store.charge([{ key: 'spend', spec: budget, amount: 100 }], 0);
    expect((await store.take([{ key: 'spend', spec: budget, amount: 0, minimum: 1 }], 9_999))[0]?.allowed).toBe(false);
    expect((await store.take([{ key: 'spend', spec: budget, amount: 0, minimum: 1 }], 10_000))[0]).toMatchObject({ allowed: true, remaining: 100 });
    expect(store.size()).toBe(0);
  });
});
