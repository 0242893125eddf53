import { describe, expect, it } from 'vitest';
import { formatResetDuration } from './headers.ts';
import { createRateLimiter, rateLimitError } from './limiter.ts';
import { createMemoryStore } from './memory-store.ts';
import type { BucketStore, LimitPolicy, RateLimiter } from './types.ts';

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
    await limits.charge('key:a', 1000);
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
    await limits.charge('key:a', 9000); // a long answer: 3000 tokens of debt
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
    await limits.charge('key:a', 120);
    const refused = await limits.admit('key:a');
    expect(refused).toMatchObject({ allowed: false, limit: 'tokens', retryAfterSeconds: 61 });
  });

  it('ignores non-positive charges and charges without a token limit', async () => {
    const { limits } = limiter({ tokensPerMinute: 600 });
    await limits.charge('key:a', 0);
    await limits.charge('key:a', -5);
    await limits.charge('key:a', Number.NaN);
    expect((await limits.admit('key:a')).headers['x-ratelimit-remaining-tokens']).toBe('600');
  });

  it('turns a refusal into a 429 ProxyError that carries the headers', async () => {
    const { limits } = limiter({ tokensPerMinute: 60 });
    await limits.charge('key:a', 100);
    const error = rateLimitError(await limits.admit('key:a'));
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.status).toBe(429);
    expect(error.message).toContain('tokens per minute');
    expect(error.headers).toMatchObject({ 'retry-after': '41', 'x-ratelimit-limit-tokens': '60' });
  });
});
