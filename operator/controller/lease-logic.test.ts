import { describe, expect, it } from 'vitest';
import { decide, expiresAt, observe, released, validateTimings, type LeaseRecord } from './lease-logic.ts';

const held = (holder: string, renewTime: number, transitions = 0): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: 0,
  renewTime,
  leaseTransitions: transitions,
});

describe('lease decisions', () => {
  it('creates a lease that does not exist yet', () => {
    expect(decide(undefined, 'a', 1000, 15)).toEqual({
      kind: 'acquire',
      record: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: 1000, renewTime: 1000, leaseTransitions: 0 },
    });
  });

  it('judges expiry from when this replica saw the record change, not from the holder clock', () => {
    // The holder's renewTime is an hour in the past (its clock is off), but we only just saw it change.
    const seen = observe(undefined, held('b', -3_600_000), 50_000);
    expect(decide(seen, 'a', 50_000 + 14_999, 15)).toEqual({ kind: 'held', holder: 'b', expiresAt: 65_000 });
    const taken = decide(seen, 'a', 65_000, 15);
    expect(taken.kind).toBe('acquire');
    expect(taken.kind === 'acquire' && taken.record).toMatchObject({ holderIdentity: 'a', acquireTime: 65_000, leaseTransitions: 1 });
  });

  it('restarts the expiry clock whenever the holder renews', () => {
    let seen = observe(undefined, held('b', 1), 0);
    seen = observe(seen, held('b', 1), 10_000); // unchanged: still the first sighting
    expect(seen.observedAt).toBe(0);
    seen = observe(seen, held('b', 2), 12_000); // renewed
    expect(seen.observedAt).toBe(12_000);
    expect(expiresAt(seen)).toBe(27_000);
    expect(decide(seen, 'a', 20_000, 15).kind).toBe('held');
  });

  it('takes a released lease at once and counts the transition', () => {
    const free = released(held('b', 5_000, 3), 6_000);
    expect(free).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 });
    const decision = decide(observe(undefined, free, 6_001), 'a', 6_001, 15);
    expect(decision).toEqual({
      kind: 'acquire',
      record: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: 6_001, renewTime: 6_001, leaseTransitions: 4 },
    });
  });

  it('renews its own lease keeping the acquire time and transitions, even when it looks expired', () => {
    const mine = { ...held('a', 1_000, 7), acquireTime: 500 };
    const decision = decide(observe(undefined, mine, 0), 'a', 100_000, 15);
    expect(decision).toEqual({ kind: 'renew', record: { ...mine, renewTime: 100_000 } });
  });

  it('accepts client-go defaults and refuses timings that would let two leaders overlap', () => {
    expect(() => validateTimings({ leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).not.toThrow();
    expect(() => validateTimings({ leaseDurationSeconds: 10, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toThrow(/longer than renewDeadlineMs/);
    expect(() => validateTimings({ leaseDurationSeconds: 15, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(/retryPeriodMs/);
    expect(() => validateTimings({ leaseDurationSeconds: 1.5, renewDeadlineMs: 1_000, retryPeriodMs: 100 })).toThrow(/integer/);
  });
});
