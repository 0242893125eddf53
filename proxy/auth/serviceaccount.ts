import type { IncomingHttpHeaders } from 'node:http';
import { ProxyError } from '../errors.ts';
import { presentedCredential, sha256 } from './credentials.ts';
import { TtlCache } from './ttl-cache.ts';
import type { AuthLogger, Caller, CallerAuthenticator, TokenReviewClient, TokenReviewRequest } from './types.ts';

/** ServiceAccountOptions configures TokenReview checks and their caches. */
export interface ServiceAccountOptions {
  /** audiences are the token audiences this endpoint accepts (`auth.audiences`); at least one. */
  readonly audiences: readonly string[];
  /** cacheSeconds keeps an accepted token this long (`auth.tokenReviewCacheSeconds`); 0 disables it. */
  readonly cacheSeconds: number;
  /** negativeCacheSeconds keeps a refused token this long, so a retry loop costs one TokenReview. */
  readonly negativeCacheSeconds?: number;
  /** maxCacheEntries bounds each of the two caches. */
  readonly maxCacheEntries?: number;
  /**
   * allowedServiceAccounts are the ServiceAccounts admitted (`auth.allowedServiceAccounts`):
   * `<namespace>/<name>`, or `<namespace>/*` for all of a namespace. Empty admits every one.
   */
  readonly allowedServiceAccounts?: readonly string[];
}

/** ServiceAccountDeps are the TokenReview client, the clock and the logger. */
export interface ServiceAccountDeps {
  readonly tokenReview: TokenReviewClient;
  readonly logger: AuthLogger;
  now(): number;
}

/** ReviewOutcome is what a TokenReview established about one token: a caller, or why not. */
export type ReviewOutcome = { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly reason: string };

const SERVICEACCOUNT_PREFIX = 'system:serviceaccount:';
const SERVICEACCOUNT_LABEL_PREFIX = 'serviceaccount:';
// ServiceAccount tokens, bound or legacy, are JWS compact serialisations (RFC 7515 §7.1).
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * tokenExpiryMs reads the `exp` claim (RFC 7519 §4.1.4) of a JWT without verifying it. It is only
 * ever used to refuse or to cache for less, never to accept, so an unverified value is harmless.
 */
export function tokenExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const exp = (claims as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * reviewOutcome reads a TokenReview's status. The API server must have authenticated the token for
 * one of our audiences (its `status.audiences` must intersect ours: an audience-unaware reviewer
 * returns none, and that is a refusal), and the user must be a ServiceAccount.
 */
export function reviewOutcome(review: TokenReviewRequest, audiences: readonly string[]): ReviewOutcome {
  const status = review.status;
  if (status?.authenticated !== true) return { ok: false, reason: 'the Kubernetes API server did not authenticate it' };
  if (!(status.audiences ?? []).some((a) => audiences.includes(a))) {
    return { ok: false, reason: 'it was not issued for this endpoint\'s audience' };
  }
  const account = serviceAccountOf(status.user?.username ?? '');
  if (account === undefined) return { ok: false, reason: 'it does not belong to a ServiceAccount' };
  const { namespace, name } = account;
  return { ok: true, caller: { kind: 'serviceaccount', label: `${SERVICEACCOUNT_LABEL_PREFIX}${namespace}/${name}`, namespace } };
}

/** serviceAccountOf parses the username the API server gives a ServiceAccount, `system:serviceaccount:<ns>:<name>`. */
function serviceAccountOf(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICEACCOUNT_PREFIX)) return undefined;
  const parts = username.slice(SERVICEACCOUNT_PREFIX.length).split(':');
  const [namespace = '', name = ''] = parts;
  return parts.length === 2 && namespace !== '' && name !== '' ? { namespace, name } : undefined;
}

/**
 * serviceAccountAllowed says whether `<namespace>/<name>` is admitted by `allowed`: named exactly,
 * or its namespace as `<namespace>/*`. An empty list admits every ServiceAccount.
 */
export function serviceAccountAllowed(account: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const namespace = account.slice(0, account.indexOf('/'));
  return allowed.includes(account) || allowed.includes(`${namespace}/*`);
}

function refusal(reason: string, audiences: readonly string[]): ProxyError {
  return new ProxyError(
    'invalid_api_key',
    `The ServiceAccount token was refused: ${reason}. Send a token projected for audience ${audiences.map((a) => `"${a}"`).join(' or ')}.`,
  );
}

function apiFailure(error: unknown, logger: AuthLogger): ProxyError {
  const summary = (error instanceof Error ? error.message : String(error)).slice(0, 300);
  const code = (error as { code?: unknown } | null)?.code;
  logger.warn({ error: summary, code }, 'serviceaccount auth: TokenReview failed');
  return new ProxyError('auth_unavailable', 'The Kubernetes API server could not check the ServiceAccount token; retry later.', { cause: error });
}

/**
 * createServiceAccountAuthenticator authenticates callers by Kubernetes ServiceAccount tokens,
 * checked with TokenReview (the API server verifies signature, expiry, audience and that the
 * ServiceAccount and its pod still exist). Results are cached by the token's SHA-256: accepted ones
 * for `cacheSeconds` but never past the token's expiry, refused ones briefly; accepted and refused
 * tokens live in separate caches so a flood of junk cannot evict good callers. Concurrent requests
 * with one token share one TokenReview. An unreachable or failing API server is `auth_unavailable` (503),
 * not a bad key, and is not cached. A ServiceAccount the API server vouches for but that is not on a
 * non-empty `allowedServiceAccounts` is `permission_denied` (403): any pod of the cluster can have a
 * token projected for any audience, so the audience alone does not say who may call.
 */
export function createServiceAccountAuthenticator(options: ServiceAccountOptions, deps: ServiceAccountDeps): CallerAuthenticator {
  if (options.audiences.length === 0) {
    // Without an audience, TokenReview accepts tokens meant for the API server itself, and a proxy
    // that accepts those invites callers to hand it credentials it could replay.
    throw new Error('auth.audiences must name at least one audience when auth.mode is serviceaccount');
  }
  const audiences = [...options.audiences];
  const allowed = [...(options.allowedServiceAccounts ?? [])];
  const maxEntries = options.maxCacheEntries ?? 10_000;
  const accepted = new TtlCache<Caller>(maxEntries);
  const refused = new TtlCache<string>(maxEntries);
  const inFlight = new Map<string, Promise<ReviewOutcome>>();

  const review = async (key: string, token: string, expiresAtMs: number | undefined): Promise<ReviewOutcome> => {
    let result: TokenReviewRequest;
    try {
      result = await deps.tokenReview.createTokenReview({ body: { spec: { token, audiences } } });
    } catch (error) {
      throw apiFailure(error, deps.logger);
    }
    const outcome = reviewOutcome(result, audiences);
    const now = deps.now();
    if (outcome.ok && options.cacheSeconds > 0) {
      accepted.set(key, outcome.caller, Math.min(now + options.cacheSeconds * 1000, expiresAtMs ?? Infinity));
    } else if (!outcome.ok) {
      refused.set(key, outcome.reason, now + (options.negativeCacheSeconds ?? 10) * 1000);
    }
    return outcome;
  };

  const lookup = (token: string, expiresAtMs: number | undefined): Promise<ReviewOutcome> => {
    const key = sha256(token).toString('base64');
    const now = deps.now();
    const caller = accepted.get(key, now);
    if (caller !== undefined) return Promise.resolve({ ok: true, caller });
    const reason = refused.get(key, now);
    if (reason !== undefined) return Promise.resolve({ ok: false, reason });
    let pending = inFlight.get(key);
    if (pending === undefined) {
      pending = review(key, token, expiresAtMs).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  };

  return {
    authenticate: async (headers: IncomingHttpHeaders): Promise<Caller> => {
      const token = presentedCredential(headers);
      if (!JWS_COMPACT.test(token)) throw refusal('it is not a JSON Web Token', audiences);
      const expiresAtMs = tokenExpiryMs(token);
      if (expiresAtMs !== undefined && expiresAtMs <= deps.now()) throw refusal('it has expired', audiences);
      const outcome = await lookup(token, expiresAtMs);
      if (!outcome.ok) throw refusal(outcome.reason, audiences);
      const account = outcome.caller.label.slice(SERVICEACCOUNT_LABEL_PREFIX.length);
      if (!serviceAccountAllowed(account, allowed)) {
        throw new ProxyError('permission_denied', `The ServiceAccount ${account} is not allowed to use this endpoint.`);
      }
      return outcome.caller;
    },
  };
}
