import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createKeyPool, LIMITED_PAUSE_MS, MAX_PAUSE_MS, REFUSED_PAUSE_MS, retryAfterMs, sendWithKeys, type PooledKey } from './key-pool.ts';
import type { ProviderResponse } from './provider.ts';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let at = start;
  return { now: () => at, advance: (ms) => { at += ms; } };
}

function answer(status: number, headers: Record<string, string> = {}): ProviderResponse {
  return { mode: 'plain', status, headers, body: Readable.from([Buffer.from('{}')]), announcedTrailers: [], trailers: () => ({}) };
}

const indexes = (pool: ReturnType<typeof createKeyPool>, n: number): number[] => Array.from({ length: n }, () => pool.take()?.index ?? -1);

describe('the provider key pool', () => {
  it('spreads takes round robin over the loaded keys, skipping a missing or empty file', () => {
    expect(indexes(createKeyPool(() => ['a', 'b', 'c']), 6)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(indexes(createKeyPool(() => ['a', undefined, '', 'd']), 4)).toEqual([0, 3, 0, 3]);
    expect(createKeyPool(() => [undefined]).take()).toBeUndefined();
  });

  it('sets a rate-limited key aside for its Retry-After and a refused one for a minute, then takes it again', () => {
    const time = clock();
    const pool = createKeyPool(() => ['a', 'b', 'c'], { now: time.now });
    expect(pool.answered({ index: 0, value: 'a' }, 429, { 'retry-after': '5' })).toBe(true);
    expect(pool.answered({ index: 1, value: 'b' }, 401, {})).toBe(true);
    expect(indexes(pool, 3)).toEqual([2, 2, 2]);
    time.advance(5_000);
    expect(indexes(pool, 2)).toEqual([0, 2]);
    time.advance(REFUSED_PAUSE_MS);
    expect(new Set(indexes(pool, 3))).toEqual(new Set([0, 1, 2]));
  });

  it('counts an answer that is neither as ok, and an ok answer brings a key back at once', () => {
    const time = clock();
    const pool = createKeyPool(() => ['a', 'b'], { now: time.now });
    for (const status of [200, 400, 404, 500, 503]) expect(pool.answered({ index: 0, value: 'a' }, status, {})).toBe(false);
    pool.answered({ index: 0, value: 'a' }, 429, {});
    expect(pool.setAside()[0]).toBe(time.now() + LIMITED_PAUSE_MS);
    pool.answered({ index: 0, value: 'a' }, 200, {});
    expect(pool.setAside()[0]).toBe(0);
  });

  it('uses the key back soonest when every key is set aside, so the upstream still answers', () => {
    const time = clock();
    const pool = createKeyPool(() => ['a', 'b'], { now: time.now });
    pool.answered({ index: 0, value: 'a' }, 429, { 'retry-after': '60' });
    pool.answered({ index: 1, value: 'b' }, 429, { 'retry-after': '10' });
    expect(pool.take()?.index).toBe(1);
    expect(pool.take(new Set(), true)).toBeUndefined();
  });

  it('brings a key back as soon as its file holds another value (rotated in its Secret)', () => {
    const values = ['a', 'b'];
    const events: string[] = [];
    const pool = createKeyPool(() => values, { events: { restored: (i) => events.push(`restored ${String(i)}`) } });
    pool.answered({ index: 0, value: 'a' }, 401, {});
    expect(indexes(pool, 2)).toEqual([1, 1]);
    values[0] = 'a-rotated';
    expect(pool.take()).toEqual({ index: 0, value: 'a-rotated' });
    expect(events).toEqual(['restored 0']);
  });

  it('reads Retry-After in seconds, as an HTTP date and as retry-after-ms, and bounds it', () => {
    const time = clock(Date.parse('2026-12-07T10:00:00Z'));
    expect(retryAfterMs({ 'retry-after': '7' }, time.now())).toBe(7_000);
    expect(retryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '7' }, time.now())).toBe(1_500);
    expect(retryAfterMs({ 'retry-after': 'Mon, 07 Dec 2026 10:00:30 GMT' }, time.now())).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': 'soon' }, time.now())).toBeUndefined();
    const pool = createKeyPool(() => ['a'], { now: time.now });
    pool.answered({ index: 0, value: 'a' }, 429, { 'retry-after': '86400' });
    expect(pool.setAside()[0]).toBe(time.now() + MAX_PAUSE_MS);
  });
});

describe('sendWithKeys', () => {
  const signal = new AbortController().signal;

  it('sends again on the next key after a refusal or a rate limit, and returns the first other answer', async () => {
    const pool = createKeyPool(() => ['revoked', 'limited', 'good']);
    const seen: string[] = [];
    const byKey: Record<string, number> = { revoked: 401, limited: 429, good: 200 };
    const response = await sendWithKeys(pool, signal, (key?: PooledKey) => {
      seen.push(key?.value ?? 'none');
      return Promise.resolve(answer(byKey[key?.value ?? ''] ?? 500));
    });
    expect(response.status).toBe(200);
    expect(seen).toEqual(['revoked', 'limited', 'good']);
    // The next requests go straight to the key that answered.
    seen.length = 0;
    await sendWithKeys(pool, signal, (key) => { seen.push(key?.value ?? 'none'); return Promise.resolve(answer(200)); });
    expect(seen).toEqual(['good']);
  });

  it('relays the last refusal when no key is left to try, and never sends twice on one key', async () => {
    const pool = createKeyPool(() => ['a', 'b']);
    const seen: string[] = [];
    const response = await sendWithKeys(pool, signal, (key) => { seen.push(key?.value ?? 'none'); return Promise.resolve(answer(429, { 'retry-after': '3' })); });
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('3');
    expect(seen).toEqual(['a', 'b']);
  });

  it('sends once without a key when none is loaded (the provider decides what that means)', async () => {
    const seen: (PooledKey | undefined)[] = [];
    const response = await sendWithKeys(createKeyPool(() => ['']), signal, (key) => { seen.push(key); return Promise.resolve(answer(401)); });
    expect(response.status).toBe(401);
    expect(seen).toEqual([undefined]);
  });

  it('does not try another key once the caller went away', async () => {
    const aborted = new AbortController();
    aborted.abort();
    const seen: string[] = [];
    await sendWithKeys(createKeyPool(() => ['a', 'b']), aborted.signal, (key) => { seen.push(key?.value ?? ''); return Promise.resolve(answer(429)); });
    expect(seen).toEqual(['a']);
  });
});
