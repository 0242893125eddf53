import { ProxyError } from '../errors.ts';
import { crossedThresholds, NAMESPACE_OWNER, quotaError, spendKey, windowAt, type BudgetThreshold } from './budgets.ts';
import { limitHeaders } from './headers.ts';
import { specFor } from './token-bucket.ts';
import type {
  Admission, BucketSpec, BucketState, BucketStore, BudgetPolicy, BudgetStatus, BudgetWindow, ChargedUsage, LimitKind, LimitPolicy,
  LimitScope, RatePolicy, RateLimiter, RefusalReason,
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

/**
 * createRateLimiter applies `policy` to each caller, and to all callers together, with token
 * buckets in `store`: requests and tokens per minute, and spend budgets per UTC day and month (a
 * bucket of micro-units that never refills, one per window). A request takes one request from each
 * request bucket and needs every token bucket to hold at least one whole token and every budget's
 * spend to be below the budget: its own size is not known until the response, when
 * `charge` takes the real tokens and cost, possibly into debt. All of a request's buckets go to the
 * store in one atomic operation, all or nothing. A burst without its rate is ignored; a policy
 * without limits admits everything and sends no headers.
 */
export function createRateLimiter(policy: LimitPolicy, store: BucketStore, deps: LimiterDeps): RateLimiter {
  const compiled = compile(policy);
  const report = (checked: readonly Checked[], amounts?: readonly number[]): void => {
    checked.forEach((c, i) => {
      if (c.line.limit !== 'budget' || deps.events === undefined) return;
      const status = budgetStatus(c);
      const crossed = amounts === undefined ? [] : crossedThresholds(status.budgetMicros, status.spentMicros - (amounts[i] ?? 0), status.spentMicros);
      deps.events.budget(status, crossed);
    });
  };
  return {
    admit: async (callerKey: string): Promise<Admission> => {
      if (compiled.rates.length === 0 && compiled.budgets.length === 0) return ADMIT_ALL;
      const now = deps.now();
      const lines = linesFor(compiled, callerKey, now);
      const states = await store.take(lines.map((l) => ({ key: l.key, spec: l.spec, amount: l.limit === 'requests' ? 1 : 0, minimum: l.minimum })), now);
      const checked = lines.map((line, i) => ({ line, state: states[i] ?? missing() }));
      report(checked);
      return admission(checked, now);
    },
    charge: async (callerKey: string, usage: ChargedUsage): Promise<void> => {
      const amountFor = (line: Line): number => (line.limit === 'tokens' ? usage.tokens : line.limit === 'budget' ? usage.costMicros ?? 0 : 0);
      const now = deps.now();
      const lines = linesFor(compiled, callerKey, now).filter((l) => amountFor(l) > 0);
      if (lines.length === 0) return;
      const amounts = lines.map(amountFor);
      const states = await store.charge(lines.map((l, i) => ({ key: l.key, spec: l.spec, amount: amounts[i] ?? 0 })), now);
      report(lines.map((line, i) => ({ line, state: states[i] ?? missing() })), amounts);
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

/** refusalError is the error for any refusal: `insufficient_quota` for a used-up budget, else `rate_limit_exceeded`. */
export function refusalError(refused: Admission, currency: string): ProxyError {
  if (refused.limit === 'budget' && refused.budget) {
    const error = quotaError(refused.budget, currency, refused.retryAfterSeconds);
    return new ProxyError(error.code, error.message, { headers: { ...refused.headers, ...error.headers } });
  }
  return rateLimitError(refused);
}
