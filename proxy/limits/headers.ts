import { EPSILON } from './token-bucket.ts';
import type { BucketState, LimitKind } from './types.ts';

/**
 * formatResetDuration writes a duration the way OpenAI's `x-ratelimit-reset-*` headers do (Go's
 * `time.Duration` format, to the millisecond): `120ms`, `1s`, `1.5s`, `6m0s`, `1h0m0s`.
 */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const secondsMs = total % 60_000;
  const fraction = secondsMs % 1000 === 0 ? '' : `.${String(secondsMs % 1000).padStart(3, '0').replace(/0+$/, '')}`;
  const seconds = `${Math.floor(secondsMs / 1000)}${fraction}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

/** limitHeaders are the three OpenAI headers for one limit; remaining is whole and never negative. */
export function limitHeaders(kind: LimitKind, state: BucketState): Record<string, string> {
  return {
    [`x-ratelimit-limit-${kind}`]: String(state.capacity),
    [`x-ratelimit-remaining-${kind}`]: String(Math.max(0, Math.floor(state.remaining + EPSILON))),
    [`x-ratelimit-reset-${kind}`]: formatResetDuration(state.resetMs),
  };
}
