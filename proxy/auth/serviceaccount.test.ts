import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.ts';
import { createAuthenticator } from './create.ts';
import { createServiceAccountAuthenticator, reviewOutcome, tokenExpiryMs, type ServiceAccountOptions } from './serviceaccount.ts';
import type { AuthLogger, Caller, TokenReviewClient, TokenReviewRequest } from './types.ts';

const AUDIENCE = 'inference.attested.dev/chat';
const T0 = Date.UTC(2025, 0, 1);

/** jwt makes a token shaped like a ServiceAccount token; only the fake reviewer gives it meaning. */
function jwt(subject: string, expSeconds?: number): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ sub: subject, exp: expSeconds })}.c2lnbmF0dXJl`;
}

/** fakeReviewer answers like the API server for the tokens it knows, and counts its calls. */
function fakeReviewer(known: Record<string, { user: string; audiences?: string[] }>): TokenReviewClient & { calls: TokenReviewRequest[] } {
  const calls: TokenReviewRequest[] = [];
  return {
    calls,
    createTokenReview: ({ body }) => {
      calls.push(body);
      const entry = known[body.spec.token];
      if (entry === undefined) return Promise.resolve({ ...body, status: { authenticated: false, error: 'invalid bearer token' } });
      return Promise.resolve({ ...body, status: { authenticated: true, audiences: entry.audiences ?? [AUDIENCE], user: { username: entry.user } } });
    },
  };
}

interface Setup {
  readonly clock: { now: number };
  readonly warnings: string[];
  readonly tokenReview: ReturnType<typeof fakeReviewer>;
  readonly as: (token: string) => Promise<Caller>;
}

function recordWarnings(warnings: string[]): AuthLogger {
  return { info: () => undefined, warn: (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`) };
}

function setup(known: Record<string, { user: string; audiences?: string[] }>, options: Partial<ServiceAccountOptions> = {}): Setup {
  const clock = { now: T0 };
  const warnings: string[] = [];
  const logger = recordWarnings(warnings);
  const tokenReview = fakeReviewer(known);
  const auth = createServiceAccountAuthenticator(
    { audiences: [AUDIENCE], cacheSeconds: 60, ...options },
    { tokenReview, logger, now: () => clock.now },
  );
  const as = (token: string): Promise<Caller> => auth.authenticate({ authorization: `Bearer ${token}` });
  return { clock, warnings, tokenReview, as };
}

const good = jwt('system:serviceaccount:team-a:chat');

describe('reviewOutcome', () => {
  const review = (status: TokenReviewRequest['status']): TokenReviewRequest => ({ spec: { token: 't' }, status });

  it('accepts an authenticated ServiceAccount for one of our audiences', () => {
    expect(reviewOutcome(review({ authenticated: true, audiences: ['x', AUDIENCE], user: { username: 'system:serviceaccount:ns:sa' } }), [AUDIENCE]))
      .toEqual({ ok: true, caller: { kind: 'serviceaccount', label: 'serviceaccount:ns/sa', namespace: 'ns' } });
  });

  it('refuses unauthenticated tokens, other audiences, no audiences and non-ServiceAccount users', () => {
    const sa = { username: 'system:serviceaccount:ns:sa' };
    expect(reviewOutcome(review({ authenticated: false, user: sa }), [AUDIENCE]).ok).toBe(false);
    expect(reviewOutcome(review(undefined), [AUDIENCE]).ok).toBe(false);
    expect(reviewOutcome(review({ authenticated: true, audiences: ['other'], user: sa }), [AUDIENCE]).ok).toBe(false);
    expect(reviewOutcome(review({ authenticated: true, user: sa }), [AUDIENCE]).ok).toBe(false);
    for (const username of ['alice', 'system:node:n1', 'system:serviceaccount:ns', 'system:serviceaccount:ns:a:b', 'system:serviceaccount::sa']) {
      expect(reviewOutcome(review({ authenticated: true, audiences: [AUDIENCE], user: { username } }), [AUDIENCE]).ok).toBe(false);
    }
  });
});

describe('tokenExpiryMs', () => {
  it('reads exp from a JWT payload, and nothing from junk', () => {
    expect(tokenExpiryMs(jwt('s', 1_700_000_000))).toBe(1_700_000_000_000);
    expect(tokenExpiryMs(jwt('s'))).toBeUndefined();
    expect(tokenExpiryMs('a.!!!.c')).toBeUndefined();
    expect(tokenExpiryMs('nodots')).toBeUndefined();
  });
});

describe('serviceaccount authenticator', () => {
  it('sends the token and our audiences, and labels the caller by ServiceAccount', async () => {
    const { as, tokenReview } = setup({ [good]: { user: 'system:serviceaccount:team-a:chat' } });
    expect(await as(good)).toEqual({ kind: 'serviceaccount', label: 'serviceaccount:team-a/chat', namespace: 'team-a' });
    expect(tokenReview.calls).toEqual([{ spec: { token: good, audiences: [AUDIENCE] } }]);
  });

  it('serves an accepted token from the cache until cacheSeconds pass', async () => {
    const { as, clock, tokenReview } = setup({ [good]: { user: 'system:serviceaccount:team-a:chat' } }, { cacheSeconds: 30 });
    await as(good);
    clock.now += 29_999;
    await as(good);
    expect(tokenReview.calls).toHaveLength(1);
    clock.now += 1;
    await as(good);
    expect(tokenReview.calls).toHaveLength(2);
  });

  it('never trusts a token past its own expiry, cached or not', async () => {
    const expiring = jwt('system:serviceaccount:team-a:chat', T0 / 1000 + 10);
    const { as, clock, tokenReview } = setup({ [expiring]: { user: 'system:serviceaccount:team-a:chat' } });
    await as(expiring);
    clock.now += 9_000;
    await as(expiring);
    expect(tokenReview.calls).toHaveLength(1);
    clock.now += 1_000;
    await expect(as(expiring)).rejects.toMatchObject({ code: 'invalid_api_key', message: expect.stringContaining('expired') as unknown });
    expect(tokenReview.calls).toHaveLength(1);
  });

  it('caches a refusal briefly', async () => {
    const stranger = jwt('system:serviceaccount:x:y');
    const { as, clock, tokenReview } = setup({});
    await expect(as(stranger)).rejects.toMatchObject({ code: 'invalid_api_key' });
    clock.now += 9_999;
    await expect(as(stranger)).rejects.toMatchObject({ code: 'invalid_api_key' });
    expect(tokenReview.calls).toHaveLength(1);
    clock.now += 1;
    await expect(as(stranger)).rejects.toMatchObject({ code: 'invalid_api_key' });
    expect(tokenReview.calls).toHaveLength(2);
  });

  it('refuses a token that is not a JWT without asking the API server, and never echoes it', async () => {
    const { as, tokenReview } = setup({});
    const error = (await as('sk-not-a-jwt').catch((e: unknown) => e)) as ProxyError;
    expect(error.code).toBe('invalid_api_key');
    expect(error.message).not.toContain('sk-not-a-jwt');
    await expect(as('')).rejects.toMatchObject({ code: 'invalid_api_key' });
    expect(tokenReview.calls).toHaveLength(0);
  });

  it('shares one TokenReview among concurrent requests with the same token', async () => {
    const { as, tokenReview } = setup({ [good]: { user: 'system:serviceaccount:team-a:chat' } });
    const callers = await Promise.all([as(good), as(good), as(good)]);
    expect(callers.map((c) => c.label)).toEqual(Array(3).fill('serviceaccount:team-a/chat'));
    expect(tokenReview.calls).toHaveLength(1);
  });

  it('reports an API server failure as auth_unavailable, logs it and does not cache it', async () => {
    const warnings: string[] = [];
    let calls = 0;
    const failing = createServiceAccountAuthenticator(
      { audiences: [AUDIENCE], cacheSeconds: 60 },
      {
        tokenReview: {
          createTokenReview: () => {
            calls++;
            return Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:443'));
          },
        },
        logger: recordWarnings(warnings),
        now: () => T0,
      },
    );
    const twice = [failing.authenticate({ authorization: `Bearer ${good}` }), failing.authenticate({ authorization: `Bearer ${good}` })];
    for (const attempt of twice) await expect(attempt).rejects.toMatchObject({ code: 'auth_unavailable' });
    await expect(failing.authenticate({ authorization: `Bearer ${good}` })).rejects.toMatchObject({ code: 'auth_unavailable' });
    expect(calls).toBe(2); // the first two shared one lookup; the third asked again
    expect(warnings[0]).toContain('ECONNREFUSED');
    expect(warnings.join('\n')).not.toContain(good);
  });

  it('bounds the cache, forgetting the least recently used token first', async () => {
    const tokens = ['a', 'b', 'c'].map((n) => jwt(`system:serviceaccount:ns:${n}`));
    const known = Object.fromEntries(tokens.map((t, i) => [t, { user: `system:serviceaccount:ns:${'abc'[i] ?? ''}` }]));
    const { as, tokenReview } = setup(known, { maxCacheEntries: 2 });
    const [a, b, c] = tokens as [string, string, string];
    await as(a);
    await as(b);
    await as(a); // a is now the most recently used
    await as(c); // evicts b
    expect(tokenReview.calls).toHaveLength(3);
    await as(a);
    expect(tokenReview.calls).toHaveLength(3);
    await as(b);
    expect(tokenReview.calls).toHaveLength(4);
  });

  it('does not cache accepted tokens when cacheSeconds is 0', async () => {
    const { as, tokenReview } = setup({ [good]: { user: 'system:serviceaccount:team-a:chat' } }, { cacheSeconds: 0 });
    await as(good);
    await as(good);
    expect(tokenReview.calls).toHaveLength(2);
  });
});

describe('allowedServiceAccounts', () => {
  const users = {
    billing: 'system:serviceaccount:team-a:billing',
    teamB: 'system:serviceaccount:team-b:anything',
    stranger: 'system:serviceaccount:team-c:billing',
    lookalike: 'system:serviceaccount:team-a:billing-2',
  };
  const tokens = { billing: jwt(users.billing), teamB: jwt(users.teamB), stranger: jwt(users.stranger), lookalike: jwt(users.lookalike) };
  const known = Object.fromEntries(Object.values(users).map((user) => [jwt(user), { user }]));

  it('admits only the listed ServiceAccounts and namespaces, refusing every other with 403 permission_denied', async () => {
    const { as, tokenReview } = setup(known, { allowedServiceAccounts: ['team-a/billing', 'team-b/*'] });
    expect((await as(tokens.billing)).label).toBe('serviceaccount:team-a/billing');
    expect((await as(tokens.teamB)).label).toBe('serviceaccount:team-b/anything');
    for (const token of [tokens.stranger, tokens.lookalike]) {
      const error: unknown = await as(token).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ProxyError);
      expect(error).toMatchObject({ code: 'permission_denied', status: 403 });
      expect((error as ProxyError).message).toMatch(/^The ServiceAccount .* is not allowed to use this endpoint/);
    }
    // A refused caller is refused again from the cache, without another TokenReview.
    const calls = tokenReview.calls.length;
    await expect(as(tokens.stranger)).rejects.toMatchObject({ code: 'permission_denied' });
    expect(tokenReview.calls).toHaveLength(calls);
  });

  it('admits every authenticated ServiceAccount when the list is empty', async () => {
    const { as } = setup(known, { allowedServiceAccounts: [] });
    expect((await as(tokens.stranger)).label).toBe('serviceaccount:team-c/billing');
  });
});

describe('createAuthenticator', () => {
  const deps = { now: () => T0, logger: { info: () => undefined, warn: () => undefined } };
  const auth = { audiences: [AUDIENCE], tokenReviewCacheSeconds: 60, allowedServiceAccounts: [] };

  it('accepts everyone as anonymous in mode none', async () => {
    const none = await createAuthenticator({ ...auth, mode: 'none' }, deps);
    expect(await none.authenticate({})).toEqual({ kind: 'anonymous', label: 'anonymous' });
  });

  it('refuses configurations that cannot work', async () => {
    await expect(createAuthenticator({ ...auth, mode: 'static-keys' }, deps)).rejects.toThrow(/auth.staticKeysFile/);
    await expect(createAuthenticator({ ...auth, mode: 'serviceaccount' }, deps)).rejects.toThrow(/TokenReview/);
    const tokenReview = fakeReviewer({});
    await expect(createAuthenticator({ ...auth, audiences: [], mode: 'serviceaccount' }, { ...deps, tokenReview })).rejects.toThrow(/auth.audiences/);
    const sa = await createAuthenticator({ ...auth, mode: 'serviceaccount' }, { ...deps, tokenReview });
    await expect(sa.authenticate({ authorization: `Bearer ${good}` })).rejects.toBeInstanceOf(ProxyError);
  });

  it('hands auth.allowedServiceAccounts to the ServiceAccount authenticator', async () => {
    const tokenReview = fakeReviewer({ [good]: { user: 'system:serviceaccount:team-a:chat' } });
    const sa = await createAuthenticator({ ...auth, mode: 'serviceaccount', allowedServiceAccounts: ['team-b/*'] }, { ...deps, tokenReview });
    await expect(sa.authenticate({ authorization: `Bearer ${good}` })).rejects.toMatchObject({ code: 'permission_denied' });
  });
});
