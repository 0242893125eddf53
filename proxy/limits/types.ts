/** LimitPolicy bounds one caller: requests and tokens per minute, each a token bucket with a burst. */
export interface LimitPolicy {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  /** burstRequests is the request bucket's capacity (defaults to requestsPerMinute). */
  readonly burstRequests?: number;
  /** burstTokens is the token bucket's capacity (defaults to tokensPerMinute). */
  readonly burstTokens?: number;
}

/** BucketState is one bucket after an operation; times are milliseconds. */
export interface BucketState {
  readonly allowed: boolean;
  readonly capacity: number;
  /** remaining is the bucket's level after the operation (may be negative after a charge). */
  readonly remaining: number;
  /** retryAfterMs is how long until the request would be allowed (0 when allowed). */
  readonly retryAfterMs: number;
  /** resetMs is how long until the bucket is full again. */
  readonly resetMs: number;
}

/**
 * BucketStore keeps token buckets: an in-memory store per replica, or a shared store (Redis) for
 * every replica and sidecar. Both run the same algorithm.
 */
export interface BucketStore {
  /** take removes `amount` if the bucket holds at least `minimum`, else leaves it unchanged. */
  take(key: string, spec: BucketSpec, amount: number, minimum: number, nowMs: number): Promise<BucketState>;
  /** charge removes `amount` unconditionally (it may go negative), e.g. real tokens after a response. */
  charge(key: string, spec: BucketSpec, amount: number, nowMs: number): Promise<BucketState>;
}

/** BucketSpec is a bucket's capacity and refill rate per millisecond. */
export interface BucketSpec {
  readonly capacity: number;
  readonly refillPerMs: number;
}

/** LimitKind names one of a policy's limits. */
export type LimitKind = 'requests' | 'tokens';

/** Admission is the limiter's answer for one request, with the headers to send either way. */
export interface Admission {
  readonly allowed: boolean;
  /** limit is the limit that refused the request (the one to wait longest for, if both did). */
  readonly limit?: LimitKind;
  /** retryAfterSeconds is a whole number of seconds, at least 1 when refused, 0 when allowed. */
  readonly retryAfterSeconds: number;
  /** headers are OpenAI's `x-ratelimit-*` for each configured limit, plus `Retry-After` when refused. */
  readonly headers: Readonly<Record<string, string>>;
}

/** RateLimiter applies one LimitPolicy per caller key. */
export interface RateLimiter {
  /** admit takes one request from the caller's request bucket and requires its token bucket not to be exhausted. */
  admit(callerKey: string): Promise<Admission>;
  /** charge takes the tokens a response really used from the caller's token bucket, even into debt. */
  charge(callerKey: string, tokens: number): Promise<void>;
}
