import { expect, it } from 'vitest';
import { specFor } from '../../proxy/limits/token-bucket.ts';
import type { BucketRequest, BucketSpec, BucketStore } from '../../proxy/limits/types.ts';

/**
 * bucketStoreContract registers the cases every BucketStore must pass, the in-memory store in the
 * unit tier and the Redis store against a real redis-server: the same algorithm gives the same
 * answers, to the millisecond. `fresh` returns an empty store (for Redis: a prefix of its own).
 */
export function bucketStoreContract(fresh: () => BucketStore | Promise<BucketStore>): void {
  const T0 = 1_700_000_000_000;
  const perSecond = specFor(60, 2); // one per second, burst of two
  const check = (key: string, spec: BucketSpec): BucketRequest => ({ key, spec, amount: 0, minimum: 1 });
  const one = (key: string, spec: BucketSpec): BucketRequest => ({ key, spec, amount: 1, minimum: 1 });

  it('allows a burst, refuses with the exact wait, and refills', async () => {
    const store = await fresh();
    expect(await store.take([one('a', perSecond)], T0)).toEqual([{ allowed: true, capacity: 2, remaining: 1, retryAfterMs: 0, resetMs: 1000 }]);
    expect(await store.take([one('a', perSecond)], T0)).toEqual([{ allowed: true, capacity: 2, remaining: 0, retryAfterMs: 0, resetMs: 2000 }]);
    expect(await store.take([one('a', perSecond)], T0 + 250)).toEqual([{ allowed: false, capacity: 2, remaining: 0.25, retryAfterMs: 750, resetMs: 1750 }]);
    expect((await store.take([one('a', perSecond)], T0 + 999))[0]?.allowed).toBe(false);
    expect((await store.take([one('a', perSecond)], T0 + 1000))[0]).toMatchObject({ allowed: true, remaining: 0 });
    expect((await store.take([one('b', perSecond)], T0 + 1000))[0]).toMatchObject({ allowed: true, remaining: 1 }); // keys are separate
  });

  it('takes all of a batch or nothing', async () => {
    const store = await fresh();
    await store.charge([{ key: 'tokens', spec: specFor(60, 5), amount: 8 }], T0); // 3 tokens of debt
    const refused = await store.take([check('tokens', specFor(60, 5)), one('requests', perSecond)], T0 + 1000);
    expect(refused).toEqual([
      { allowed: false, capacity: 5, remaining: -2, retryAfterMs: 3000, resetMs: 7000 },
      { allowed: true, capacity: 2, remaining: 2, retryAfterMs: 0, resetMs: 0 }, // would pass, but nothing was taken
    ]);
    const admitted = await store.take([check('tokens', specFor(60, 5)), one('requests', perSecond)], T0 + 4000);
    expect(admitted.map((s) => s.remaining)).toEqual([1, 1]);
  });

  it('charges into debt that holds later takes back until it has refilled', async () => {
    const store = await fresh();
    const spec = specFor(60, 5);
    expect(await store.charge([{ key: 't', spec, amount: 8 }], T0)).toEqual([{ allowed: true, capacity: 5, remaining: -3, retryAfterMs: 0, resetMs: 8000 }]);
    expect((await store.take([check('t', spec)], T0 + 3999))[0]).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect((await store.take([check('t', spec)], T0 + 4000))[0]?.allowed).toBe(true);
  });

  it('rounds waits like token-bucket.ts for rates that are not binary fractions', async () => {
    const store = await fresh();
    const rpm7 = specFor(7);
    for (let i = 0; i < 7; i++) await store.take([one('r', rpm7)], T0);
    expect((await store.take([one('r', rpm7)], T0))[0]).toMatchObject({ allowed: false, retryAfterMs: 8572 });
    expect((await store.take([one('r', rpm7)], T0 + 8571))[0]?.allowed).toBe(false);
    expect((await store.take([one('r', rpm7)], T0 + 8572))[0]?.allowed).toBe(true);
  });

  it('keeps a spend budget, which never refills, exact in micro-units', async () => {
    const store = await fresh();
    const budget: BucketSpec = { capacity: 1_000_000, refillPerMs: 0, expireAtMs: T0 + 86_400_000 };
    expect(await store.take([check('spend', budget)], T0)).toEqual([{ allowed: true, capacity: 1_000_000, remaining: 1_000_000, retryAfterMs: 0, resetMs: 0 }]);
    expect(await store.charge([{ key: 'spend', spec: budget, amount: 999_999 }], T0 + 1)).toEqual([{ allowed: true, capacity: 1_000_000, remaining: 1, retryAfterMs: 0, resetMs: Infinity }]);
    expect((await store.take([check('spend', budget)], T0 + 3_600_000))[0]).toMatchObject({ allowed: true, remaining: 1 });
    await store.charge([{ key: 'spend', spec: budget, amount: 1 }], T0 + 3_600_000);
    expect(await store.take([check('spend', budget)], T0 + 7_200_000)).toEqual([{ allowed: false, capacity: 1_000_000, remaining: 0, retryAfterMs: Infinity, resetMs: Infinity }]);
  });

  it('never runs a bucket backwards for a caller whose clock is behind', async () => {
    const store = await fresh();
    await store.take([one('s', perSecond), one('s2', perSecond)], T0 + 5000);
    expect((await store.take([one('s', perSecond)], T0 + 4000))[0]).toMatchObject({ allowed: true, remaining: 0, resetMs: 2000 });
  });
}
