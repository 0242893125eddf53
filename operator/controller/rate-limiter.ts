/** RateLimiterOptions tunes how soon a failed key is retried; the defaults are client-go's. */
export interface RateLimiterOptions {
  /** baseDelayMs is the first retry's delay; each further failure doubles it. */
  readonly baseDelayMs?: number;
  /** maxDelayMs caps the per-key delay. */
  readonly maxDelayMs?: number;
  /** qps and burst size the token bucket shared by every key, so a storm of failures cannot flood the API server. */
  readonly qps?: number;
  readonly burst?: number;
}

/** DEFAULT_RATE_LIMITS are client-go's DefaultTypedControllerRateLimiter: 5 ms doubling to 1000 s, 10 qps with a burst of 100; ours caps at 5 minutes. */
export const DEFAULT_RATE_LIMITS: Required<RateLimiterOptions> = Object.freeze({
  baseDelayMs: 5,
  maxDelayMs: 5 * 60_000,
  qps: 10,
  burst: 100,
});

/**
 * RateLimiter decides how long a key waits before its next retry: the larger of its own
 * exponential backoff and the overall token bucket's wait. Pure logic on a caller-supplied clock.
 */
export class RateLimiter {
  readonly #options: Required<RateLimiterOptions>;
  readonly #failures = new Map<string, number>();
  #tokens: number;
  #lastRefill: number;

  constructor(now: number, options: RateLimiterOptions = {}) {
    this.#options = { ...DEFAULT_RATE_LIMITS, ...options };
    const { baseDelayMs, maxDelayMs, qps, burst } = this.#options;
    if (!(baseDelayMs > 0 && maxDelayMs >= baseDelayMs && qps > 0 && burst >= 1)) {
      throw new Error('rate limiter needs baseDelayMs > 0, maxDelayMs >= baseDelayMs, qps > 0 and burst >= 1');
    }
    this.#tokens = burst;
    this.#lastRefill = now;
  }

  /** when records one more failure of `key` and returns how many milliseconds it should wait. */
  when(key: string, now: number): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2^failures overflows to Infinity long before it matters; the cap keeps it finite.
    const backoff = Math.min(this.#options.baseDelayMs * 2 ** failures, this.#options.maxDelayMs);
    return Math.max(backoff, this.#reserve(now));
  }

  /** forget clears `key`'s failure count after a success, so its next failure starts from the base delay. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** failures is how many times `key` failed since it was last forgotten. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  // A reservation, as golang.org/x/time/rate does: take a token now (the balance may go negative)
  // and wait until the bucket would have refilled to cover it.
  #reserve(now: number): number {
    const { qps, burst } = this.#options;
    const elapsed = Math.max(0, now - this.#lastRefill);
    this.#tokens = Math.min(burst, this.#tokens + (elapsed * qps) / 1000);
    this.#lastRefill = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / qps);
  }
}
