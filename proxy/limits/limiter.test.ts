import { describe, expect, it } from 'vitest';
import { formatResetDuration } from './headers.ts';
import { crossedThresholds, windowAt } from './budgets.ts';
import { createRateLimiter, rateLimitError, refusalError } from './limiter.ts';
import { createMemoryStore } from './memory-store.ts';
import type { BucketStore, BudgetStatus, LimitPolicy, RateLimiter } from './types.ts';

function limiter(policy: LimitPolicy, store: BucketStore = createMemoryStore()): { clock: { now: number }; limits: RateLimiter } {
  const clock = { now: 1_700_000_000_000 };
  return { clock, limits: createRateLimiter(policy, store, { now: () => clock.now }) };
}

describe('formatResetDuration', () => {
  it('writes durations as OpenAI does', () => {
    expect(formatResetDuration(0)).toBe('0s');
    expect(formatResetDuration(120)).toBe('120ms');
    expect(formatResetDuration(0.2)).toBe('1ms');
    expect(formatResetDuration(1000)).toBe('1s');
    expect(formatResetDuration(1500)).toBe('1.5s');
    expect(formatResetDuration(8640)).toBe('8.64s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(179_560)).toBe('2m59.56s');
    expect(formatResetDuration(3_600_000)).toBe('1h0m0s');
    expect(formatResetDuration(3_723_004)).toBe('1h2m3.004s');
  });
});

describe('rate limiter', () => {
  it('admits everything, with no headers, when the policy has no limits', async () => {
    const calls: string[] = [];
    const store: BucketStore = {
      take: () => Promise.reject(new Error(`unexpected take ${calls.push('take')}`)),
      charge: () => Promise.reject(new Error(`unexpected charge ${calls.push('charge')}`)),
    };
    const { limits } = limiter({ burstRequests: 5 }, store);
    expect(await limits.admit('key:a')).toEqual({ allowed: true, retryAfterSeconds: 0, headers: {} });
    await limits.charge('key:a', { tokens: 1000 });
    expect(calls).toEqual([]);
  });

  it('allows a burst, then refuses with the request headers and an exact Retry-After', async () => {
    const { limits, clock } = limiter({ requestsPerMinute: 60, burstRequests: 3 });
    for (let i = 2; i >= 0; i--) {
      const admitted = await limits.admit('key:a');
      expect(admitted.allowed).toBe(true);
      expect(admitted.headers['x-ratelimit-remaining-requests']).toBe(String(i));
    }
    const refused = await limits.admit('key:a');
    expect(refused).toEqual({
      allowed: false,
      limit: 'requests',
      scope: 'caller',
      retryAfterSeconds: 1,
      headers: {
        'x-ratelimit-limit-requests': '3',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '3s',
        'retry-after': '1',
      },
    });
    expect((await limits.admit('key:b')).allowed).toBe(true); // callers are separate
    clock.now += 999;
    expect((await limits.admit('key:a')).allowed).toBe(false);
    clock.now += 1;
    expect((await limits.admit('key:a')).allowed).toBe(true);
  });

  it('refills over time up to the burst', async () => {
    const { limits, clock } = limiter({ requestsPerMinute: 6 }); // one every 10 s, burst 6
    for (let i = 0; i < 6; i++) await limits.admit('key:a');
    expect(await limits.admit('key:a')).toMatchObject({ allowed: false, retryAfterSeconds: 10 });
    clock.now += 25_000;
    const later = await limits.admit('key:a');
    expect(later.headers).toMatchObject({ 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-reset-requests': '45s' }); // 2.5 refilled, 1 taken: 4.5 short of 6
    clock.now += 3_600_000;
    expect((await limits.admit('key:a')).headers['x-ratelimit-remaining-requests']).toBe('5');
  });

  it('holds requests back while a large charge keeps the token bucket in debt', async () => {
    const { limits, clock } = limiter({ requestsPerMinute: 100, tokensPerMinute: 6000 }); // 100 tokens per second
    const first = await limits.admit('key:a');
    expect(first.headers).toEqual({
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-reset-requests': '600ms',
      'x-ratelimit-limit-tokens': '6000',
      'x-ratelimit-remaining-tokens': '6000',
      'x-ratelimit-reset-tokens': '0s',
    });
    await limits.charge('key:a', { tokens: 9000 }); // a long answer: 3000 tokens of debt
    const refused = await limits.admit('key:a');
    expect(refused).toMatchObject({ allowed: false, limit: 'tokens', retryAfterSeconds: 31 });
    expect(refused.headers).toMatchObject({
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '1m30s',
      'x-ratelimit-remaining-requests': '99', // a refusal for tokens spends no request
      'retry-after': '31',
    });
    clock.now += 30_000; // debt paid, level exactly 0: a request still needs one whole token
    expect((await limits.admit('key:a')).allowed).toBe(false);
    clock.now += 10;
    expect((await limits.admit('key:a')).allowed).toBe(true);
  });

  it('names the limit to wait longest for when both refuse', async () => {
    const { limits } = limiter({ requestsPerMinute: 60, burstRequests: 1, tokensPerMinute: 60 });
    await limits.admit('key:a');
    await limits.charge('key:a', { tokens: 120 });
    const refused = await limits.admit('key:a');
    expect(refused).toMatchObject({ allowed: false, limit: 'tokens', retryAfterSeconds: 61 });
  });

  it('ignores non-positive charges and charges without a token limit', async () => {
    const { limits } = limiter({ tokensPerMinute: 600 });
    await limits.charge('key:a', { tokens: 0 });
    await limits.charge('key:a', { tokens: -5 });
    await limits.charge('key:a', { tokens: Number.NaN });
    expect((await limits.admit('key:a')).headers['x-ratelimit-remaining-tokens']).toBe('600');
  });

  it('turns a refusal into a 429 ProxyError that carries the headers', async () => {
    const { limits } = limiter({ tokensPerMinute: 60 });
    await limits.charge('key:a', { tokens: 100 });
    const error = rateLimitError(await limits.admit('key:a'));
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.status).toBe(429);
    expect(error.message).toContain('tokens per minute');
    expect(error.headers).toMatchObject({ 'retry-after': '41', 'x-ratelimit-limit-tokens': '60' });
  });
});

describe('rate limiter: the namespace scope', () => {
  it('holds all callers together to the namespace limit, and reports the tighter bucket', async () => {
    const { limits } = limiter({ requestsPerMinute: 100, namespace: { requestsPerMinute: 3 } });
    expect((await limits.admit('key:a')).headers).toMatchObject({ 'x-ratelimit-limit-requests': '3', 'x-ratelimit-remaining-requests': '2' });
    await limits.admit('key:b');
    await limits.admit('key:c');
    const refused = await limits.admit('key:d');
    expect(refused).toMatchObject({ allowed: false, limit: 'requests', scope: 'namespace', retryAfterSeconds: 20 });
    expect(rateLimitError(refused).message).toContain('all callers in this namespace');
  });

  it('spends no request of any bucket when one of them refuses', async () => {
    const { limits } = limiter({ requestsPerMinute: 10, namespace: { requestsPerMinute: 10, tokensPerMinute: 100 } });
    await limits.charge('key:a', { tokens: 500 });
    const refused = await limits.admit('key:b');
    expect(refused).toMatchObject({ allowed: false, limit: 'tokens', scope: 'namespace' });
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('10'); // neither the caller's nor the namespace's was taken
  });
});

describe('rate limiter: spend budgets', () => {
  const NOV_28_2026_23H = Date.UTC(2026, 10, 28, 23, 0, 0);

  function budgeted(policy: LimitPolicy, startMs: number): { clock: { now: number }; limits: RateLimiter; seen: { status: BudgetStatus; crossed: readonly number[] }[] } {
    const clock = { now: startMs };
    const seen: { status: BudgetStatus; crossed: readonly number[] }[] = [];
    const events = { budget: (status: BudgetStatus, crossed: readonly number[]): void => void seen.push({ status, crossed }) };
    return { clock, seen, limits: createRateLimiter(policy, createMemoryStore(), { now: () => clock.now, events }) };
  }

  it('refuses once spend reaches the budget, with insufficient_quota and the reset time, and resets at UTC midnight', async () => {
    const { limits, clock } = budgeted({ requestsPerMinute: 1000, budgets: { caller: { dailyMicros: 1_000_000 } } }, NOV_28_2026_23H);
    expect((await limits.admit('key:a')).allowed).toBe(true);
    await limits.charge('key:a', { tokens: 10, costMicros: 999_999 });
    expect((await limits.admit('key:a')).allowed).toBe(true); // spent below the budget: admitted
    await limits.charge('key:a', { tokens: 10, costMicros: 1 });
    const refused = await limits.admit('key:a');
    expect(refused).toMatchObject({ allowed: false, limit: 'budget', scope: 'caller', retryAfterSeconds: 3600 });
    expect(refused.budget).toEqual({ scope: 'caller', window: 'day', budgetMicros: 1_000_000, spentMicros: 1_000_000, resetAtMs: Date.UTC(2026, 10, 29) });
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('998'); // the refused request took none
    const error = refusalError(refused, 'USD');
    expect(error.status).toBe(429);
    expect(error.body().error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(error.message).toBe('You have used this caller\'s daily spend budget of USD 1.000000 (spent USD 1.000000, requests in flight included); it resets at 2026-11-29T00:00:00.000Z.');
    expect(error.headers).toMatchObject({ 'retry-after': '3600', 'x-should-retry': 'false', 'x-budget-reset-at': '2026-11-29T00:00:00.000Z' });
    expect((await limits.admit('key:b')).allowed).toBe(true); // another caller has its own budget
    clock.now = Date.UTC(2026, 10, 28, 23, 59, 59, 999);
    expect((await limits.admit('key:a')).allowed).toBe(false);
    clock.now = Date.UTC(2026, 10, 29);
    expect((await limits.admit('key:a')).allowed).toBe(true);
  });

  it('keeps a monthly namespace budget across days and resets it on the first of the month', async () => {
    const { limits, clock } = budgeted({ budgets: { namespace: { monthlyMicros: 500 } } }, Date.UTC(2027, 0, 30, 12));
    await limits.charge('key:a', { tokens: 1, costMicros: 300 });
    clock.now = Date.UTC(2027, 0, 31, 12);
    await limits.charge('key:b', { tokens: 1, costMicros: 250 });
    const refused = await limits.admit('key:c');
    expect(refused).toMatchObject({ allowed: false, limit: 'budget', scope: 'namespace' });
    expect(refused.budget).toMatchObject({ window: 'month', spentMicros: 550, resetAtMs: Date.UTC(2027, 1, 1) });
    expect(refusalError(refused, 'EUR').message).toContain('this namespace\'s monthly spend budget of EUR 0.000500 (spent EUR 0.000550, requests in flight included)');
    clock.now = Date.UTC(2027, 1, 1);
    expect((await limits.admit('key:c')).allowed).toBe(true);
  });

  it('names the budget that resets last when several are used up, ahead of any rate limit', async () => {
    const { limits } = budgeted({ requestsPerMinute: 1, budgets: { caller: { dailyMicros: 10, monthlyMicros: 10 } } }, NOV_28_2026_23H);
    await limits.admit('key:a');
    await limits.charge('key:a', { tokens: 1, costMicros: 10 });
    const refused = await limits.admit('key:a');
    expect(refused).toMatchObject({ limit: 'budget', budget: { window: 'month', resetAtMs: Date.UTC(2026, 11, 1) } });
  });

  it('reports each budget as seen, and the 80 % and 100 % crossings once, on the charge that crosses them', async () => {
    const { limits, seen } = budgeted({ budgets: { namespace: { dailyMicros: 1000 } } }, NOV_28_2026_23H);
    await limits.admit('key:a');
    await limits.charge('key:a', { tokens: 1, costMicros: 799 });
    await limits.charge('key:a', { tokens: 1, costMicros: 1 });
    await limits.charge('key:a', { tokens: 1, costMicros: 150 });
    await limits.charge('key:a', { tokens: 1, costMicros: 100 });
    await limits.charge('key:a', { tokens: 1, costMicros: 100 });
    expect(seen.map((s) => [s.status.spentMicros, s.crossed])).toEqual([[0, []], [799, []], [800, [80]], [950, []], [1050, [100]], [1150, []]]);
    expect(seen[0]?.status).toEqual({ scope: 'namespace', window: 'day', budgetMicros: 1000, spentMicros: 0, resetAtMs: Date.UTC(2026, 10, 29) });
  });

  it('applies a budget changed mid-window to the spend so far', async () => {
    const store = createMemoryStore();
    const clock = { now: NOV_28_2026_23H };
    const before = createRateLimiter({ budgets: { caller: { dailyMicros: 1000 } } }, store, { now: () => clock.now });
    await before.charge('key:a', { tokens: 1, costMicros: 1200 });
    expect((await before.admit('key:a')).allowed).toBe(false);
    const raised = createRateLimiter({ budgets: { caller: { dailyMicros: 2000 } } }, store, { now: () => clock.now });
    expect((await raised.admit('key:a')).allowed).toBe(true);
    await raised.charge('key:a', { tokens: 1, costMicros: 800 });
    expect(await raised.admit('key:a')).toMatchObject({ allowed: false, budget: { budgetMicros: 2000, spentMicros: 2000 } });
  });

  it('charges nothing to budgets for an unpriced request', async () => {
    const { limits, seen } = budgeted({ budgets: { caller: { dailyMicros: 1000 } } }, NOV_28_2026_23H);
    await limits.charge('key:a', { tokens: 1000 });
    expect(seen).toEqual([]);
    expect((await limits.admit('key:a')).allowed).toBe(true);
  });
});

describe('budget windows', () => {
  it('are UTC calendar days and months', () => {
    expect(windowAt('day', Date.UTC(2026, 10, 28, 23, 59, 59, 999))).toEqual({ id: '2026-11-28', startMs: Date.UTC(2026, 10, 28), endMs: Date.UTC(2026, 10, 29) });
    expect(windowAt('month', Date.UTC(2026, 11, 31, 12))).toEqual({ id: '2026-12', startMs: Date.UTC(2026, 11, 1), endMs: Date.UTC(2027, 0, 1) });
    expect(windowAt('month', Date.UTC(2028, 1, 29))).toMatchObject({ id: '2028-02', endMs: Date.UTC(2028, 2, 1) });
  });

  it('count a threshold as crossed only by the charge that reaches it', () => {
    expect(crossedThresholds(1000, 0, 799)).toEqual([]);
    expect(crossedThresholds(1000, 799, 800)).toEqual([80]);
    expect(crossedThresholds(1000, 0, 1000)).toEqual([80, 100]);
    expect(crossedThresholds(1000, 1000, 2000)).toEqual([]);
  });
});

describe('reservations', () => {
  it('holds a request\'s estimate while it runs and settles to what it is charged, giving the rest back', async () => {
    const { limits } = limiter({ tokensPerMinute: 1, burstTokens: 1000 }); // refills nothing meanwhile
    const first = await limits.reserve('key:a', { tokens: 600 });
    expect(first).toMatchObject({ allowed: true, headers: { 'x-ratelimit-remaining-tokens': '400' } });
    // A second request that needs more than is left while the first runs is refused, with nothing taken.
    const second = await limits.reserve('key:a', { tokens: 500 });
    expect(second).toMatchObject({ allowed: false, limit: 'tokens', scope: 'caller' });
    expect(second.reservation).toBeUndefined();
    await limits.settle(first.reservation!, { tokens: 100 });
    const third = await limits.reserve('key:a', { tokens: 500 });
    expect(third).toMatchObject({ allowed: true, headers: { 'x-ratelimit-remaining-tokens': '400' } }); // 1000 − 100 − 500
    // Settling above the estimate goes into debt; settling to nothing gives everything back.
    await limits.settle(third.reservation!, { tokens: 1200 });
    expect((await limits.admit('key:a')).allowed).toBe(false);
  });

  it('never gives back more than a bucket holds', async () => {
    const { limits } = limiter({ tokensPerMinute: 1, burstTokens: 1000 });
    const held = await limits.reserve('key:a', { tokens: 300 });
    await limits.settle(held.reservation!, { tokens: 0 });
    await limits.settle(held.reservation!, { tokens: 0 }); // a second refund of the same 300 is capped at the capacity
    expect((await limits.reserve('key:a', { tokens: 1000 })).headers['x-ratelimit-remaining-tokens']).toBe('0');
  });

  it('refuses a request too large for a limit\'s whole capacity, without asking the store, and says waiting will not help', async () => {
    const calls: string[] = [];
    const inner = createMemoryStore();
    const store: BucketStore = {
      take: (r, now) => { calls.push('take'); return inner.take(r, now); },
      charge: (c, now) => { calls.push('charge'); return inner.charge(c, now); },
    };
    const { limits } = limiter({ tokensPerMinute: 1000, budgets: { caller: { dailyMicros: 5000 } } }, store);
    const tokens = await limits.reserve('key:a', { tokens: 1001, costMicros: 10 });
    expect(tokens).toMatchObject({ allowed: false, limit: 'tokens', tooLarge: { limit: 'tokens', capacity: 1000, requested: 1001 } });
    const error = refusalError(tokens, 'USD');
    expect(error).toMatchObject({ code: 'rate_limit_exceeded', headers: { 'x-should-retry': 'false' } });
    expect(error.message).toContain('Request too large: it reserves 1001 tokens');
    const money = await limits.reserve('key:a', { tokens: 10, costMicros: 5000 });
    expect(refusalError(money, 'USD').message).toContain('could cost up to USD 0.005000, which does not fit in the spend budget of USD 0.005000');
    expect(calls).toEqual([]);
  });

  it('holds a budget to spend plus reservations, and names the reservation when it does not fit', async () => {
    const { limits } = limiter({ budgets: { caller: { dailyMicros: 1000 } } });
    const a = await limits.reserve('key:a', { tokens: 1, costMicros: 600 });
    expect(a.allowed).toBe(true);
    const b = await limits.reserve('key:a', { tokens: 1, costMicros: 400 }); // 600 + 400 is not below 1000
    expect(b).toMatchObject({ allowed: false, limit: 'budget', budget: { spentMicros: 600, requestedMicros: 400 } });
    expect(refusalError(b, 'USD').message).toMatch(/^This request could cost up to USD 0\.000400, more than is left of this caller's daily spend budget of USD 0\.001000 \(spent USD 0\.000600, requests in flight included\)/);
    await limits.settle(a.reservation!, { tokens: 1, costMicros: 100 });
    expect((await limits.reserve('key:a', { tokens: 1, costMicros: 899 })).allowed).toBe(true); // 100 + 899 < 1000
  });

  it('settles into the budget window the request was admitted in, even after it ended', async () => {
    const { limits, clock } = limiter({ budgets: { caller: { dailyMicros: 1000 } } });
    clock.now = Date.UTC(2026, 10, 28, 23, 59, 59);
    const late = await limits.reserve('key:a', { tokens: 1, costMicros: 900 });
    clock.now = Date.UTC(2026, 10, 29, 0, 0, 1); // the answer ends after midnight
    await limits.settle(late.reservation!, { tokens: 1, costMicros: 950 });
    // The new day starts from nothing: neither the reservation nor its settlement reach it.
    expect(await limits.reserve('key:a', { tokens: 1, costMicros: 999 })).toMatchObject({ allowed: true });
  });

  it('costs no store operation when the policy limits neither tokens nor spend', async () => {
    const store: BucketStore = {
      take: () => Promise.reject(new Error('unexpected take')),
      charge: () => Promise.reject(new Error('unexpected charge')),
    };
    const { limits } = limiter({}, store);
    const held = await limits.reserve('key:a', { tokens: 10_000_000, costMicros: 1 });
    expect(held.allowed).toBe(true);
    await limits.settle(held.reservation!, { tokens: 5 });
  });
});
