import { describe, expect, it } from 'vitest';
import { charge, msUntilRefilled, refill, specFor, take } from './token-bucket.ts';

const perSecond = specFor(60, 5); // one per second, burst of five

describe('token bucket', () => {
  it('starts full and refills up to its capacity', () => {
    expect(refill(undefined, perSecond, 1000)).toEqual({ level: 5, updatedAtMs: 1000 });
    expect(refill({ level: 1, updatedAtMs: 0 }, perSecond, 2500)).toEqual({ level: 3.5, updatedAtMs: 2500 });
    expect(refill({ level: 1, updatedAtMs: 0 }, perSecond, 60_000)).toEqual({ level: 5, updatedAtMs: 60_000 });
  });

  it('never runs time backwards when a clock is behind the last writer', () => {
    expect(refill({ level: 1, updatedAtMs: 5000 }, perSecond, 4000)).toEqual({ level: 1, updatedAtMs: 5000 });
  });

  it('takes when the bucket holds the minimum, and otherwise changes nothing and says how long to wait', () => {
    const ok = take({ level: 1, updatedAtMs: 0 }, perSecond, { amount: 1, minimum: 1 }, 0);
    expect(ok.next).toEqual({ level: 0, updatedAtMs: 0 });
    expect(ok.state).toEqual({ allowed: true, capacity: 5, remaining: 0, retryAfterMs: 0, resetMs: 5000 });
    const refused = take(ok.next, perSecond, { amount: 1, minimum: 1 }, 250);
    expect(refused.next).toEqual({ level: 0.25, updatedAtMs: 250 });
    expect(refused.state).toMatchObject({ allowed: false, retryAfterMs: 750, resetMs: 4750 });
  });

  it('lets a charge go into debt, which holds later takes back until it has refilled', () => {
    const debt = charge(undefined, perSecond, 8, 0);
    expect(debt.state).toMatchObject({ allowed: true, remaining: -3, resetMs: 8000 });
    expect(take(debt.next, perSecond, { amount: 0, minimum: 1 }, 3999).state).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(take(debt.next, perSecond, { amount: 0, minimum: 1 }, 4000).state.allowed).toBe(true);
  });

  it('rounds waits to whole milliseconds without float noise turning exact into one more', () => {
    const rpm7 = specFor(7); // 7/60000 per ms is not a binary fraction
    expect(msUntilRefilled(1, rpm7)).toBe(8572); // 8571.43 ms rounded up
    const drained = { level: 0, updatedAtMs: 0 };
    expect(take(drained, specFor(60), { amount: 1, minimum: 1 }, 1000).state.allowed).toBe(true);
    expect(msUntilRefilled(1, specFor(60))).toBe(1000);
    expect(msUntilRefilled(3, specFor(180))).toBe(1000);
    expect(msUntilRefilled(0, perSecond)).toBe(0);
    expect(msUntilRefilled(-2, perSecond)).toBe(0);
  });
});
