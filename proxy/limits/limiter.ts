import { ProxyError } from '../errors.ts';
import { formatMicros } from '../metering/cost.ts';
import { crossedThresholds, NAMESPACE_OWNER, quotaError, spendKey, windowAt, type BudgetThreshold } from './budgets.ts';
import { limitHeaders } from './headers.ts';
import { specFor } from './token-bucket.ts';
import type {
  Admission, BucketSpec, BucketState, BucketStore, BudgetPolicy, BudgetStatus, BudgetWindow, ChargedUsage, LimitKind, LimitPolicy,
  LimitScope, RatePolicy, RateLimiter, RefusalReason, Reservation, Reserved,
} from './types.ts';

/** LimiterEvents hears about budgets: each budget's spend whenever the limiter sees it, and the thresholds a charge crossed. */
export interface LimiterEvents {
  budget(status: BudgetStatus, crossed: readonly BudgetThreshold[]): void;
}

/** LimiterDeps is the clock (wall-clock milliseconds: limits are per minute, budgets per UTC day and month) and who listens. */
export interface LimiterDeps {
  now(): number;
  readonly events?: LimiterEvents;
}

const ADMIT_ALL: Admission = Object.freeze({ allowed: true, retryAfterSeconds: 0, headers: Object.freeze({}) });

/** Line is one bucket a request is held to: a rate limit or a budget window, of the caller or the namespace. */
interface Line {
  readonly limit: RefusalReason;
  readonly scope: LimitScope;
  readonly key: string;
  readonly spec: BucketSpec;
  /** minimum is what the bucket must hold for a request to pass. */
  readonly minimum: number;
  readonly window?: BudgetWindow;
  readonly budgetMicros?: number;
}

interface Checked {
  readonly line: Line;
  readonly state: BucketState;
}

interface Compiled {
  readonly rates: readonly { readonly limit: LimitKind; readonly scope: LimitScope; readonly spec: BucketSpec }[];
  readonly budgets: readonly { readonly scope: LimitScope; readonly window: BudgetWindow; readonly micros: number }[];
}

function ratesOf(policy: RatePolicy | undefined, scope: LimitScope): Compiled['rates'] {
  if (policy === undefined) return [];
  return [
    ...(policy.tokensPerMinute === undefined ? [] : [{ limit: 'tokens' as const, scope, spec: specFor(policy.tokensPerMinute, policy.burstTokens) }]),
    ...(policy.requestsPerMinute === undefined ? [] : [{ limit: 'requests' as const, scope, spec: specFor(policy.requestsPerMinute, policy.burstRequests) }]),
  ];
}

function budgetsOf(policy: BudgetPolicy | undefined, scope: LimitScope): Compiled['budgets'] {
  return [
    ...(policy?.dailyMicros === undefined ? [] : [{ scope, window: 'day' as const, micros: policy.dailyMicros }]),
    ...(policy?.monthlyMicros === undefined ? [] : [{ scope, window: 'month' as const, micros: policy.monthlyMicros }]),
  ];
}

function compile(policy: LimitPolicy): Compiled {
  return {
    rates: [...ratesOf(policy, 'caller'), ...ratesOf(policy.namespace, 'namespace')],
    budgets: [...budgetsOf(policy.budgets?.caller, 'caller'), ...budgetsOf(policy.budgets?.namespace, 'namespace')],
  };
}

/**
 * linesFor lays out a caller's buckets at `nowMs`. Keys: `caller:<caller>:<requests|tokens>`,
 * `namespace:<requests|tokens>`, and `…:spend:<day|month>:<window id>` for budgets, whose window in
 * the key makes each window a fresh budget. A budget is a bucket of capacity 0 that never refills:
 * it starts at 0, charges take it to minus the spend, and a request needs it to hold at least
 * 1 − budget, i.e. spend below the budget. Keeping the spend rather than what is left means a budget
 * changed mid-window (or declared differently by two endpoints of the namespace) applies to the
 * same spend. Token buckets and budgets come first: they are only checked; request buckets are taken.
 */
function linesFor(compiled: Compiled, callerKey: string, nowMs: number): Line[] {
  const owner = (scope: LimitScope): string => (scope === 'caller' ? `caller:${callerKey}` : NAMESPACE_OWNER);
  const budgets = compiled.budgets.map((b): Line => {
    const spec = { capacity: 0, refillPerMs: 0, expireAtMs: windowAt(b.window, nowMs).endMs };
    const key = spendKey(owner(b.scope), b.window, nowMs);
    return { limit: 'budget', scope: b.scope, key, spec, minimum: 1 - b.micros, window: b.window, budgetMicros: b.micros };
  });
  const rates = compiled.rates.map((r): Line => ({ limit: r.limit, scope: r.scope, key: `${owner(r.scope)}:${r.limit}`, spec: r.spec, minimum: 1 }));
  return [...budgets, ...rates.filter((r) => r.limit === 'tokens'), ...rates.filter((r) => r.limit === 'requests')];
}

function budgetStatus(c: Checked): BudgetStatus {
  return {
    scope: c.line.scope,
    window: c.line.window ?? 'day',
    budgetMicros: c.line.budgetMicros ?? 0,
    spentMicros: 0 - c.state.remaining, // never -0
    resetAtMs: c.line.spec.expireAtMs ?? 0,
  };
}

/** headersOf reports, per limit kind, the bucket with least left (the caller's own or the namespace's). */
function headersOf(checked: readonly Checked[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const kind of ['requests', 'tokens'] as const) {
    const tightest = checked.filter((c) => c.line.limit === kind).sort((a, b) => a.state.remaining - b.state.remaining)[0];
    if (tightest) Object.assign(headers, limitHeaders(kind, tightest.state));
  }
  return headers;
}

function admission(checked: readonly Checked[], nowMs: number): Admission {
  const headers = headersOf(checked);
  const refused = checked.filter((c) => !c.state.allowed);
  if (refused.length === 0) return { allowed: true, retryAfterSeconds: 0, headers };
  // A used-up budget outranks a rate limit: waiting out the rate limit would not help.
  const budgets = refused.filter((c) => c.line.limit === 'budget').map(budgetStatus).sort((a, b) => b.resetAtMs - a.resetAtMs);
  const budget = budgets[0];
  if (budget) {
    const retryAfterSeconds = Math.max(1, Math.ceil((budget.resetAtMs - nowMs) / 1000));
    return { allowed: false, limit: 'budget', scope: budget.scope, budget, retryAfterSeconds, headers: { ...headers, 'retry-after': String(retryAfterSeconds) } };
  }
  const worst = [...refused].sort((a, b) => b.state.retryAfterMs - a.state.retryAfterMs)[0] ?? refused[0];
  // RFC 9110 §10.2.3: Retry-After is whole seconds; round up so a retry on time is admitted.
  const retryAfterSeconds = Math.max(1, Math.ceil((worst?.state.retryAfterMs ?? 0) / 1000));
  headers['retry-after'] = String(retryAfterSeconds);
  return { allowed: false, limit: worst?.line.limit ?? 'requests', scope: worst?.line.scope ?? 'caller', retryAfterSeconds, headers };
}

/** amountOf is what `usage` takes from a line: tokens from a token bucket, cost from a budget, nothing from a request bucket. */
function amountOf(line: Line, usage: ChargedUsage): number {
  if (line.limit === 'tokens') return usage.tokens;
  return line.limit === 'budget' ? usage.costMicros ?? 0 : 0;
}

/** Held is one bucket of a reservation and what it holds. */
interface Held {
  readonly line: Line;
  readonly amount: number;
}

/** tooLargeFor finds a line whose whole capacity is below what the estimate asks of it: no wait would let it pass. */
function tooLargeFor(held: readonly Held[]): Reserved['tooLarge'] {
  for (const { line, amount } of held) {
    // A budget passes while spend + amount < budget (spend starts at 0); a token bucket while it holds the amount.
    const capacity = line.limit === 'budget' ? (line.budgetMicros ?? 0) : line.spec.capacity;
    const fits = line.limit === 'budget' ? amount < capacity : amount <= capacity;
    if (!fits) return { limit: line.limit, scope: line.scope, capacity, requested: amount };
  }
  return undefined;
}

/**
 * createRateLimiter applies `policy` to each caller, and to all callers together, with token
 * buckets in `store`: requests and tokens per minute, and spend budgets per UTC day and month (a
 * bucket of micro-units that never refills, one per window). Admission before the body is read
 * takes one request from each request bucket and needs every token bucket to hold a whole token
 * and every budget's spend to be below the budget. Once the body is known, `reserve` takes the
 * request's estimate (tokens and cost) from the token buckets and budgets, refusing unless all of
 * them hold it; when the request ends, `settle` charges the difference between what it is charged
 * and what it reserved, into debt or back. So requests in flight hold what they may use, and
 * concurrency no longer lets a caller past its limits (docs/adr/0007-shared-limits-and-budgets.md).
 * Each operation sends all its buckets to the store at once, atomically. A burst without its rate
 * is ignored; a policy without limits admits everything and sends no headers.
 */
export function createRateLimiter(policy: LimitPolicy, store: BucketStore, deps: LimiterDeps): RateLimiter {
  const compiled = compile(policy);
  const unlimited = compiled.rates.length === 0 && compiled.budgets.length === 0;
  const report = (checked: readonly Checked[], amounts?: readonly number[]): void => {
    checked.forEach((c, i) => {
      if (c.line.limit !== 'budget' || deps.events === undefined) return;
      const status = budgetStatus(c);
      const crossed = amounts === undefined ? [] : crossedThresholds(status.budgetMicros, status.spentMicros - (amounts[i] ?? 0), status.spentMicros);
      deps.events.budget(status, crossed);
    });
  };
  const chargeLines = async (held: readonly Held[], now: number): Promise<void> => {
    const moving = held.filter((h) => h.amount !== 0);
    if (moving.length === 0) return;
    const states = await store.charge(moving.map((h) => ({ key: h.line.key, spec: h.line.spec, amount: h.amount })), now);
    report(moving.map((h, i) => ({ line: h.line, state: states[i] ?? missing() })), moving.map((h) => h.amount));
  };
  return {
    admit: async (callerKey: string): Promise<Admission> => {
      if (unlimited) return ADMIT_ALL;
      const now = deps.now();
      const lines = linesFor(compiled, callerKey, now);
      const states = await store.take(lines.map((l) => ({ key: l.key, spec: l.spec, amount: l.limit === 'requests' ? 1 : 0, minimum: l.minimum })), now);
      const checked = lines.map((line, i) => ({ line, state: states[i] ?? missing() }));
      report(checked);
      return admission(checked, now);
    },
    reserve: async (callerKey: string, estimate: ChargedUsage): Promise<Reserved> => {
      const now = deps.now();
      const held = linesFor(compiled, callerKey, now).filter((l) => l.limit !== 'requests').map((line) => ({ line, amount: amountOf(line, estimate) }));
      const reservation: Reservation = { estimate, lines: held };
      if (held.length === 0) return { ...ADMIT_ALL, reservation };
      const tooLarge = tooLargeFor(held);
      if (tooLarge) return { allowed: false, limit: tooLarge.limit, scope: tooLarge.scope, retryAfterSeconds: 0, headers: {}, tooLarge };
      // A token bucket must hold the whole estimate; a budget the estimate on top of its spend (minimum 1 − budget).
      const minimumOf = (h: Held): number => (h.line.limit === 'budget' ? h.line.minimum + h.amount : Math.max(h.line.minimum, h.amount));
      const states = await store.take(held.map((h) => ({ key: h.line.key, spec: h.line.spec, amount: h.amount, minimum: minimumOf(h) })), now);
      const checked = held.map((h, i) => ({ line: h.line, state: states[i] ?? missing() }));
      const answer = admission(checked, now);
      report(checked, answer.allowed ? held.map((h) => h.amount) : undefined);
      if (answer.allowed) return { ...answer, reservation };
      return answer.budget ? { ...answer, budget: { ...answer.budget, requestedMicros: estimate.costMicros ?? 0 } } : answer;
    },
    settle: async (reservation: Reservation, charged: ChargedUsage): Promise<void> => {
      const held = reservation.lines as readonly Held[];
      await chargeLines(held.map((h) => ({ line: h.line, amount: amountOf(h.line, charged) - h.amount })), deps.now());
    },
    charge: async (callerKey: string, usage: ChargedUsage): Promise<void> => {
      const now = deps.now();
      await chargeLines(linesFor(compiled, callerKey, now).map((line) => ({ line, amount: amountOf(line, usage) })).filter((h) => h.amount > 0), now);
    },
  };
}

function missing(): never {
  throw new Error('the limits store answered fewer buckets than it was asked about');
}

/** rateLimitError turns a rate-limit refusal into the catalogued 429, naming the limit and carrying the headers. */
export function rateLimitError(refused: Admission): ProxyError {
  const limit = refused.limit === 'tokens' ? 'tokens per minute' : 'requests per minute';
  const whose = refused.scope === 'namespace' ? 'all callers in this namespace' : 'this caller';
  return new ProxyError(
    'rate_limit_exceeded',
    `Rate limit reached for ${limit} for ${whose}; retry after ${refused.retryAfterSeconds} s.`,
    { headers: { ...refused.headers } },
  );
}

/** tooLargeError is the refusal of a request whose estimate exceeds a limit's whole capacity: asking again would not help. */
function tooLargeError(tooLarge: NonNullable<Reserved['tooLarge']>, currency: string): ProxyError {
  const whose = tooLarge.scope === 'namespace' ? 'all callers in this namespace' : 'this caller';
  const lower = 'lower max_tokens (or max_completion_tokens, max_output_tokens) or the prompt';
  const headers = { 'x-should-retry': 'false' };
  if (tooLarge.limit === 'budget') {
    return new ProxyError(
      'insufficient_quota',
      `This request could cost up to ${formatMicros(tooLarge.requested, currency)}, which does not fit in the spend budget of ` +
        `${formatMicros(tooLarge.capacity, currency)} for ${whose}; ${lower}.`,
      { headers },
    );
  }
  return new ProxyError(
    'rate_limit_exceeded',
    `Request too large: it reserves ${tooLarge.requested} tokens (its prompt estimate plus its output maximum), more than the ` +
      `${tooLarge.capacity} tokens ${whose} may use at once; ${lower}.`,
    { headers },
  );
}

/** refusalError is the error for any refusal: `insufficient_quota` for a used-up budget, else `rate_limit_exceeded`. */
export function refusalError(refused: Admission | Reserved, currency: string): ProxyError {
  if ('tooLarge' in refused && refused.tooLarge) return tooLargeError(refused.tooLarge, currency);
  if (refused.limit === 'budget' && refused.budget) {
    const error = quotaError(refused.budget, currency, refused.retryAfterSeconds);
    return new ProxyError(error.code, error.message, { headers: { ...refused.headers, ...error.headers } });
  }
  return rateLimitError(refused);
}
