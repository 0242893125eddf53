import type { ProviderResponse } from './provider.ts';

/**
 * Provider key pools. An endpoint may hold several provider keys (docs/adr/0019): the upstream
 * enforces rate tiers and acts on abuse per credential, so one key is a single point of failure.
 * Requests are spread round robin over the keys that are loaded and not set aside; a key the
 * upstream refuses (401, 403) or rate-limits (429) is set aside — for the answer's Retry-After, or a
 * fixed pause — and the request goes again on the next key, since such an answer means the upstream
 * did not process it. When every key is set aside the one whose pause ends first is used anyway:
 * the upstream, not the pool, decides, and a caller gets its real answer rather than one made up
 * here. A key whose file changes (rotated in its Secret) comes back at once. Keys are known by
 * their index in the pool, never by their value, in metrics and logs.
 */

/** REFUSED_PAUSE_MS sets aside a refused key (401, 403) this long: a revoked key is tried again each minute. */
export const REFUSED_PAUSE_MS = 60_000;
/** LIMITED_PAUSE_MS sets aside a rate-limited key whose 429 names no Retry-After. */
export const LIMITED_PAUSE_MS = 30_000;
/** MAX_PAUSE_MS bounds a Retry-After, so an absurd one does not take a key away for the day. */
export const MAX_PAUSE_MS = 10 * 60_000;

/** PooledKey is one key taken for one attempt. */
export interface PooledKey {
  readonly index: number;
  readonly value: string;
}

/** KeyOutcome is what an attempt with a key came to, as metrics count it. */
export type KeyOutcome = 'ok' | 'refused' | 'rate_limited';

/** KeyPoolEvents tell metrics and logs what the pool did, by key index. */
export interface KeyPoolEvents {
  answered?(index: number, outcome: KeyOutcome): void;
  setAside?(index: number, untilMs: number, outcome: Exclude<KeyOutcome, 'ok'>): void;
  restored?(index: number): void;
}

/** KeyPool hands out provider keys and learns from the upstream's answers. */
export interface KeyPool {
  readonly size: number;
  /** loaded counts the keys whose files hold a value. */
  loaded(): number;
  /**
   * take picks the key for an attempt, skipping `tried`: the next one not set aside or, unless
   * `onlyReady`, the one back soonest; undefined when no such key is loaded.
   */
  take(tried?: ReadonlySet<number>, onlyReady?: boolean): PooledKey | undefined;
  /** answered records the upstream's answer to an attempt; true when it set the key aside. */
  answered(key: PooledKey, status: number, headers: Readonly<Record<string, string | string[] | undefined>>): boolean;
  /** setAside tells, per key index, until when it is set aside (0 when it is not). */
  setAside(): readonly number[];
}

/** retryAfterMs reads `retry-after-ms` or `Retry-After` (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(headers: Readonly<Record<string, string | string[] | undefined>>, now: number): number | undefined {
  const first = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const ms = first('retry-after-ms');
  if (ms !== undefined && /^\d+(?:\.\d+)?$/.test(ms.trim())) return Number(ms.trim());
  const after = first('retry-after')?.trim();
  if (after === undefined || after === '') return undefined;
  if (/^\d+$/.test(after)) return Number(after) * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** isLoaded: a key file holds a value (a missing or empty file holds no key). */
function isLoaded(key: string | undefined): key is string {
  return key !== undefined && key !== '';
}

function outcomeOf(status: number): KeyOutcome {
  if (status === 401 || status === 403) return 'refused';
  if (status === 429) return 'rate_limited';
  return 'ok';
}

/**
 * createKeyPool pools the keys `keys()` returns (one entry per configured file, undefined or empty
 * while a file is missing). The value of each key is compared on every take, so a rotated key is
 * no longer set aside.
 */
export function createKeyPool(keys: () => readonly (string | undefined)[], options: { readonly now?: () => number; readonly events?: KeyPoolEvents } = {}): KeyPool {
  const now = options.now ?? Date.now;
  const events = options.events ?? {};
  const size = keys().length;
  const asideUntil: number[] = Array.from({ length: size }, () => 0);
  const asideValue: (string | undefined)[] = Array.from({ length: size }, () => undefined);
  let next = 0;

  const restoreRotated = (values: readonly (string | undefined)[]): void => {
    for (let i = 0; i < size; i++) {
      if (asideUntil[i] !== 0 && asideValue[i] !== values[i]) {
        asideUntil[i] = 0;
        events.restored?.(i);
      }
    }
  };

  return {
    size,
    loaded: () => keys().filter(isLoaded).length,
    take(tried = new Set(), onlyReady = false): PooledKey | undefined {
      const values = keys();
      restoreRotated(values);
      const at = now();
      const until = (index: number): number => asideUntil[index] ?? 0;
      // The untried loaded keys, in round-robin order from the one after the last taken.
      const order = Array.from({ length: size }, (_, step) => (next + step) % size).filter((i) => !tried.has(i) && isLoaded(values[i]));
      const ready = order.find((i) => until(i) <= at);
      if (ready !== undefined) {
        next = (ready + 1) % size;
        return { index: ready, value: values[ready] ?? '' };
      }
      if (onlyReady || order.length === 0) return undefined;
      // Every untried key is set aside: the one back soonest goes, and the upstream answers.
      const soonest = order.reduce((a, b) => (until(b) < until(a) ? b : a));
      return { index: soonest, value: values[soonest] ?? '' };
    },
    answered(key, status, headers): boolean {
      const outcome = outcomeOf(status);
      events.answered?.(key.index, outcome);
      if (outcome === 'ok') {
        if (asideUntil[key.index] !== 0) {
          asideUntil[key.index] = 0;
          events.restored?.(key.index);
        }
        return false;
      }
      const at = now();
      const pause = outcome === 'refused' ? REFUSED_PAUSE_MS : (retryAfterMs(headers, at) ?? LIMITED_PAUSE_MS);
      const until = at + Math.min(Math.max(pause, 0), MAX_PAUSE_MS);
      asideUntil[key.index] = until;
      asideValue[key.index] = key.value;
      events.setAside?.(key.index, until, outcome);
      return true;
    },
    setAside: () => [...asideUntil],
  };
}

/**
 * sendWithKeys makes one attempt per key until an answer is neither a refusal nor a rate limit, or
 * no untried key that is not set aside is left; the last answer is returned as it is. An answer given up on is discarded
 * unread. `send` throws when no key is loaded (`undefined`).
 */
export async function sendWithKeys(pool: KeyPool, signal: AbortSignal, send: (key: PooledKey | undefined) => Promise<ProviderResponse>): Promise<ProviderResponse> {
  const tried = new Set<number>();
  let key = pool.take(tried);
  for (;;) {
    const response = await send(key);
    if (key === undefined) return response;
    tried.add(key.index);
    const setAside = pool.answered(key, response.status, response.headers);
    // A retry goes only to a key that is not set aside: otherwise the caller gets this answer.
    const following = setAside && !signal.aborted ? pool.take(tried, true) : undefined;
    if (following === undefined) return response;
    response.body.resume();
    response.body.destroy();
    key = following;
  }
}
