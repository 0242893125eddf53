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
