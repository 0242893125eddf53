import { ProxyError } from '../errors.ts';
import { formatMicros } from '../metering/cost.ts';
import type { BudgetStatus, BudgetWindow } from './types.ts';

/** WindowBounds is one budget window: its id (part of the bucket's key) and its UTC bounds. */
export interface WindowBounds {
  /** id is `2026-11-28` for a day, `2026-11` for a month. */
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
}

const DAY_MS = 86_400_000;

/**
 * windowAt is the UTC calendar day or month that contains `nowMs`. Budgets reset at UTC midnight
 * and on the first of the month, the boundaries providers bill by; the window's id is part of its
 * bucket's key, so a new window starts from a fresh (full) budget without any reset job.
 */
export function windowAt(window: BudgetWindow, nowMs: number): WindowBounds {
  const now = new Date(nowMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  if (window === 'day') {
    const startMs = Date.UTC(year, month, now.getUTCDate());
    return { id: new Date(startMs).toISOString().slice(0, 10), startMs, endMs: startMs + DAY_MS };
  }
  const startMs = Date.UTC(year, month, 1);
  return { id: new Date(startMs).toISOString().slice(0, 7), startMs, endMs: Date.UTC(year, month + 1, 1) };
}

/**
 * spendKey is the key, under the store's prefix, of `owner`'s spend in the window that contains
 * `nowMs` (`namespace:spend:day:2026-11-28`, `caller:key:a:spend:month:2026-11`). The proxy's
 * limiter writes it and the operator reads the namespace's for its status.
 */
export function spendKey(owner: string, window: BudgetWindow, nowMs: number): string {
  return `${owner}:spend:${window}:${windowAt(window, nowMs).id}`;
}

/** NAMESPACE_OWNER is the owner part of the namespace-wide buckets' keys. */
export const NAMESPACE_OWNER = 'namespace';

/** BudgetThreshold is a share of a budget, in percent, whose crossing is counted and reported. */
export type BudgetThreshold = 80 | 100;

/** THRESHOLDS are the shares of a budget whose crossing is an event: the proxy counts it, the operator records it. */
export const THRESHOLDS: readonly BudgetThreshold[] = [80, 100];

/**
 * crossedThresholds lists the thresholds that spend crossed going from `before` to `after` (both in
 * micro-units), compared exactly in integers. The store changes a budget atomically, so for each
 * charge exactly one replica sees each crossing.
 */
export function crossedThresholds(budgetMicros: number, before: number, after: number): BudgetThreshold[] {
  return THRESHOLDS.filter((t) => before * 100 < budgetMicros * t && after * 100 >= budgetMicros * t);
}

const WHOSE = { caller: 'this caller\'s', namespace: 'this namespace\'s' } as const;
const WINDOW_WORD = { day: 'daily', month: 'monthly' } as const;

/**
 * quotaError is the 429 `insufficient_quota` OpenAI answers when an account's quota is used up,
 * here for a used-up spend budget: the message names the budget and when it resets, and
 * `Retry-After` says the same in seconds. `x-should-retry: false` tells OpenAI's SDKs not to retry
 * on their own: the wait is hours, not seconds.
 */
export function quotaError(budget: BudgetStatus, currency: string, retryAfterSeconds: number): ProxyError {
  const resetAt = new Date(budget.resetAtMs).toISOString();
  const what = `${WHOSE[budget.scope]} ${WINDOW_WORD[budget.window]} spend budget of ${formatMicros(budget.budgetMicros, currency)}`;
  const spent = `spent ${formatMicros(budget.spentMicros, currency)}, requests in flight included`;
  const message = budget.requestedMicros === undefined
    ? `You have used ${what} (${spent}); it resets at ${resetAt}.`
    : `This request could cost up to ${formatMicros(budget.requestedMicros, currency)}, more than is left of ${what} (${spent}); it resets at ${resetAt}.`;
  return new ProxyError(
    'insufficient_quota',
    message,
    { headers: { 'retry-after': String(retryAfterSeconds), 'x-should-retry': 'false', 'x-budget-reset-at': resetAt } },
  );
}
