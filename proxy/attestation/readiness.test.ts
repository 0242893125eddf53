import { describe, expect, it } from 'vitest';
import { decideReadiness, type ReadinessInput } from './readiness.ts';

const base: ReadinessInput = { attested: true, firstVerifiedAt: undefined, startedAt: 1_000, now: 1_000, windowMs: 60_000 };

describe('decideReadiness', () => {
  it('waits for the first verification within the window', () => {
    expect(decideReadiness(base)).toEqual({ ready: false, reason: 'AwaitingFirstVerification' });
    expect(decideReadiness({ ...base, now: 60_999 })).toEqual({ ready: false, reason: 'AwaitingFirstVerification' });
  });

  it('is ready once verified, and stays so whatever happens later', () => {
    expect(decideReadiness({ ...base, firstVerifiedAt: 2_000, now: 3_000 })).toEqual({ ready: true, reason: 'Verified' });
    expect(decideReadiness({ ...base, firstVerifiedAt: 2_000, now: 10_000_000 })).toEqual({ ready: true, reason: 'Verified' });
  });

  it('turns ready when the window has passed without a verification', () => {
    expect(decideReadiness({ ...base, now: 61_000 })).toEqual({ ready: true, reason: 'WindowElapsed' });
  });

  it('is ready at once for an upstream with nothing to verify, and with a zero window', () => {
    expect(decideReadiness({ ...base, attested: false, startedAt: undefined })).toEqual({ ready: true, reason: 'NothingToVerify' });
    expect(decideReadiness({ ...base, windowMs: 0 })).toEqual({ ready: true, reason: 'WindowElapsed' });
  });

  it('is not ready before verification has started', () => {
    expect(decideReadiness({ ...base, startedAt: undefined, now: 1e12 })).toEqual({ ready: false, reason: 'AwaitingFirstVerification' });
  });
});
