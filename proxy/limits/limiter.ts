import { ProxyError } from '../errors.ts';
import { limitHeaders } from './headers.ts';
import { specFor } from './token-bucket.ts';
import type { Admission, BucketSpec, BucketState, BucketStore, LimitKind, LimitPolicy, RateLimiter } from './types.ts';

/** LimiterDeps is the clock; limits are per minute, so wall-clock milliseconds are what it needs. */
export interface LimiterDeps {
  now(): number;
}

const ADMIT_ALL: Admission = Object.freeze({ allowed: true, retryAfterSeconds: 0, headers: Object.freeze({}) });

interface Refusal {
  readonly limit: LimitKind;
  readonly retryAfterMs: number;
}

/** worstRefusal is the refusal to wait longest for: the request needs both limits to pass. */
function worstRefusal(states: readonly (readonly [LimitKind, BucketState | undefined])[]): Refusal | undefined {
  let worst: Refusal | undefined;
  for (const [limit, state] of states) {
    if (state === undefined || state.allowed) continue;
    if (worst === undefined || state.retryAfterMs > worst.retryAfterMs) worst = { limit, retryAfterMs: state.retryAfterMs };
  }
  return worst;
}

function admission(requests: BucketState | undefined, tokens: BucketState | undefined): Admission {
  const headers: Record<string, string> = {
    ...(requests && limitHeaders('requests', requests)),
    ...(tokens && limitHeaders('tokens', tokens)),
  };
  const refusal = worstRefusal([['requests', requests], ['tokens', tokens]]);
  if (refusal === undefined) return { allowed: true, retryAfterSeconds: 0, headers };
  // RFC 9110 §10.2.3: Retry-After is whole seconds; round up so a retry on time is admitted.
  const retryAfterSeconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
  headers['retry-after'] = String(retryAfterSeconds);
  return { allowed: false, limit: refusal.limit, retryAfterSeconds, headers };
}

/**
 * createRateLimiter applies `policy` to each caller with two token buckets in `store`: one of
 * requests and one of tokens. A request needs one request in its bucket and a token bucket that is
 * not exhausted (at least one whole token: the request's own size is not known until the response);
 * `charge` then takes the real count, possibly into debt. A burst setting without its per-minute
 * rate is ignored, and a policy without rates admits everything and sends no headers.
 */
export function createRateLimiter(policy: LimitPolicy, store: BucketStore, deps: LimiterDeps): RateLimiter {
  const requestSpec: BucketSpec | undefined =
    policy.requestsPerMinute === undefined ? undefined : specFor(policy.requestsPerMinute, policy.burstRequests);
  const tokenSpec: BucketSpec | undefined =
    policy.tokensPerMinute === undefined ? undefined : specFor(policy.tokensPerMinute, policy.burstTokens);
  return {
    admit: async (callerKey: string): Promise<Admission> => {
      if (requestSpec === undefined && tokenSpec === undefined) return ADMIT_ALL;
      const now = deps.now();
      // Tokens are only checked (amount 0), and first, so a refusal for tokens does not also
      // spend a request; a request bucket is then only read (amount 0) to report its headers.
      const tokens = tokenSpec && (await store.take(`tokens:${callerKey}`, tokenSpec, 0, 1, now));
      const spend = tokens === undefined || tokens.allowed ? 1 : 0;
      const requests = requestSpec && (await store.take(`requests:${callerKey}`, requestSpec, spend, 1, now));
      return admission(requests, tokens);
    },
    charge: async (callerKey: string, tokens: number): Promise<void> => {
      if (tokenSpec === undefined || !(tokens > 0)) return;
      await store.charge(`tokens:${callerKey}`, tokenSpec, tokens, deps.now());
    },
  };
}

/** rateLimitError turns a refusal into the catalogued 429, naming the limit and carrying the headers. */
export function rateLimitError(refused: Admission): ProxyError {
  const limit = refused.limit === 'tokens' ? 'tokens per minute' : 'requests per minute';
  return new ProxyError(
    'rate_limit_exceeded',
    `Rate limit reached for ${limit} for this caller; retry after ${refused.retryAfterSeconds} s.`,
    { headers: { ...refused.headers } },
  );
}
