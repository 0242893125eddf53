/** RatePolicy is requests and tokens per minute, each a token bucket with a burst. */
export interface RatePolicy {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  /** burstRequests is the request bucket's capacity (defaults to requestsPerMinute). */
  readonly burstRequests?: number;
  /** burstTokens is the token bucket's capacity (defaults to tokensPerMinute). */
  readonly burstTokens?: number;
}

/** BudgetWindow is a spend budget's window: a UTC calendar day or month. */
export type BudgetWindow = 'day' | 'month';

/** BudgetPolicy is spend budgets in integer micro-units of the price table's currency, per window. */
export interface BudgetPolicy {
  readonly dailyMicros?: number;
  readonly monthlyMicros?: number;
}

/**
 * LimitPolicy bounds each caller (the rates at its top level and `budgets.caller`) and every caller
 * of the namespace together (`namespace` and `budgets.namespace`).
 */
export interface LimitPolicy extends RatePolicy {
  readonly namespace?: RatePolicy;
  readonly budgets?: { readonly caller?: BudgetPolicy; readonly namespace?: BudgetPolicy };
}

/** LimitScope says whose bucket refused: the caller's own or the namespace's shared one. */
export type LimitScope = 'caller' | 'namespace';

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

/** BucketRequest is one bucket of an atomic take: remove `amount` if every bucket of the batch holds its `minimum`. */
export interface BucketRequest {
  readonly key: string;
  readonly spec: BucketSpec;
  readonly amount: number;
  readonly minimum: number;
}

/** BucketCharge is one bucket of an atomic charge: remove `amount` unconditionally. */
export interface BucketCharge {
  readonly key: string;
  readonly spec: BucketSpec;
  readonly amount: number;
}

/**
 * BucketStore keeps token buckets: an in-memory store per replica, or a shared store (Redis) for
 * every replica and sidecar. Both run the same algorithm (token-bucket.ts), and each operation
 * covers all the buckets of one request at once, atomically: one round trip to a shared store.
 */
export interface BucketStore {
  /** take is `takeAll`: each amount is removed only if every bucket holds its minimum; states in request order. */
  take(requests: readonly BucketRequest[], nowMs: number): Promise<BucketState[]>;
  /** charge removes every amount unconditionally (levels may go negative), e.g. real usage after a response. */
  charge(charges: readonly BucketCharge[], nowMs: number): Promise<BucketState[]>;
}

/** BucketSpec is a bucket's capacity and refill rate per millisecond. */
export interface BucketSpec {
  readonly capacity: number;
  readonly refillPerMs: number;
  /** expireAtMs is when the bucket is forgotten whatever its level: a budget window's end. */
  readonly expireAtMs?: number;
}

/** LimitKind names one of a policy's rate limits. */
export type LimitKind = 'requests' | 'tokens';

/** RefusalReason is why a request was refused: a rate limit, or a spend budget used up. */
export type RefusalReason = LimitKind | 'budget';

/** BudgetStatus is one budget's window as last seen: spend so far and when it resets. */
export interface BudgetStatus {
  readonly scope: LimitScope;
  readonly window: BudgetWindow;
  readonly budgetMicros: number;
  readonly spentMicros: number;
  readonly resetAtMs: number;
  /** requestedMicros is what the refused request would have reserved, when a reservation was refused. */
  readonly requestedMicros?: number;
}

/** Admission is the limiter's answer for one request, with the headers to send either way. */
export interface Admission {
  readonly allowed: boolean;
  /** limit is what refused the request: a spend budget first, else the rate limit to wait longest for. */
  readonly limit?: RefusalReason;
  /** scope says whose limit refused the request. */
  readonly scope?: LimitScope;
  /** budget is the used-up budget when `limit` is `budget`. */
  readonly budget?: BudgetStatus;
  /** retryAfterSeconds is a whole number of seconds, at least 1 when refused, 0 when allowed. */
  readonly retryAfterSeconds: number;
  /** headers are OpenAI's `x-ratelimit-*` for each configured limit, plus `Retry-After` when refused. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Usage is what a finished request consumed: tokens, and its cost when the model is priced. */
export interface ChargedUsage {
  readonly tokens: number;
  readonly costMicros?: number;
}

/**
 * Reservation is what a request holds against its token limits and budgets while it runs: its
 * estimate, taken at admission from the buckets it names, to be settled against the same buckets
 * (a budget window that ended meanwhile is still the one the request was admitted into).
 */
export interface Reservation {
  readonly estimate: ChargedUsage;
  /** lines are the buckets holding the estimate, opaque outside the limiter. */
  readonly lines: readonly unknown[];
}

/** Reserved is the limiter's answer to a reservation: an admission, and the reservation when allowed. */
export interface Reserved extends Admission {
  readonly reservation?: Reservation;
  /**
   * tooLarge says the estimate alone exceeds a limit's whole capacity (a token bucket's burst or a
   * budget), so waiting would never help: the caller must ask for less.
   */
  readonly tooLarge?: { readonly limit: RefusalReason; readonly scope: LimitScope; readonly capacity: number; readonly requested: number };
}

/** RateLimiter applies one LimitPolicy per caller key (and to all callers together). */
export interface RateLimiter {
  /**
   * admit takes one request from the request buckets and requires the token buckets and budgets not
   * to be exhausted: the cheap check made before the request's body is read.
   */
  admit(callerKey: string): Promise<Admission>;
  /**
   * reserve takes a request's estimate from its token buckets and budgets, all or nothing, once its
   * body is known: it is refused unless every token bucket holds the estimated tokens and every
   * budget the estimated cost on top of its spend.
   */
  reserve(callerKey: string, estimate: ChargedUsage): Promise<Reserved>;
  /** settle replaces a reservation by what the request is charged (possibly more, into debt, or less: the rest is given back). */
  settle(reservation: Reservation, charged: ChargedUsage): Promise<void>;
  /** charge takes what a response really used from the token buckets and budgets, even into debt. */
  charge(callerKey: string, usage: ChargedUsage): Promise<void>;
}
