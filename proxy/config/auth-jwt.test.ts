import { describe, expect, it } from 'vitest';
import { configProblems, DEVELOPMENT_TRUST_ENV, MINIMAL_PROXY_CONFIG } from '../../test/harness/config-problems.ts';
import { parseConfig } from './load.ts';

const minimal = MINIMAL_PROXY_CONFIG;
const jwt = { jwksUrl: 'https://issuer.example.com/.well-known/jwks.json', issuer: 'https://issuer.example.com', audiences: ['inference'] };

function problemsOf(auth: object, extra: object = {}, env: object = {}): string[] {
  return configProblems({ ...minimal, ...extra, auth }, env);
}

describe('auth.jwt configuration', () => {
  it('applies safe defaults: asymmetric algorithms, sub as the caller, hashed labels, bounded tokens', () => {
    const config = parseConfig({ ...minimal, auth: { mode: 'jwt', jwt } });
    expect(config.auth.jwt).toEqual({
      ...jwt,
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      clockSkewSeconds: 30,
      maxTokenBytes: 8192,
      callerClaim: 'sub',
      callerLabel: 'hash',
      allowedCallers: [],
      jwksCacheSeconds: 300,
      jwksRefetchCooldownSeconds: 30,
      jwksTimeoutMs: 5000,
    });
  });

  it('requires the jwt block with jwt mode, and only then', () => {
    expect(problemsOf({ mode: 'jwt' })).toEqual(['auth.jwt is required when auth.mode is jwt']);
    expect(problemsOf({ mode: 'none', jwt })).toEqual(['auth.jwt is only allowed when auth.mode is jwt']);
    expect(problemsOf({ mode: 'jwt', jwt: { jwksUrl: jwt.jwksUrl } }).join('\n')).toMatch(/auth\.jwt.*issuer/);
  });

  it('refuses alg none and symmetric algorithms, an empty audience list and oversized token limits', () => {
    expect(problemsOf({ mode: 'jwt', jwt: { ...jwt, algorithms: ['none'] } }).join('\n')).toContain('auth.jwt.algorithms');
    expect(problemsOf({ mode: 'jwt', jwt: { ...jwt, algorithms: ['HS256'] } }).join('\n')).toContain('auth.jwt.algorithms');
    expect(problemsOf({ mode: 'jwt', jwt: { ...jwt, audiences: [] } }).join('\n')).toContain('auth.jwt.audiences');
    expect(problemsOf({ mode: 'jwt', jwt: { ...jwt, maxTokenBytes: 100_000 } }).join('\n')).toContain('auth.jwt.maxTokenBytes');
  });

  it('requires https for the key set unless attestation.trust is Development', () => {
    const http = { ...jwt, jwksUrl: 'http://127.0.0.1:8000/jwks.json' };
    expect(problemsOf({ mode: 'jwt', jwt: http })).toEqual(['auth.jwt.jwksUrl must be an https URL (plain http is allowed only with attestation.trust Development)']);
    expect(problemsOf({ mode: 'jwt', jwt: http }, { attestation: { trust: 'Development', developmentPublicKey: 'k' } }, DEVELOPMENT_TRUST_ENV)).toEqual([]);
  });

  it('requires allowedCallers for the allow-list label, and ties the refetch cooldown to the cache lifetime', () => {
    expect(problemsOf({ mode: 'jwt', jwt: { ...jwt, callerLabel: 'allow-list' } })).toEqual([
      'auth.jwt.allowedCallers must name at least one caller when auth.jwt.callerLabel is allow-list',
    ]);
    expect(problemsOf({ mode: 'jwt', jwt: { ...jwt, callerLabel: 'allow-list', allowedCallers: ['a', 'other'] } })).toEqual([
      'auth.jwt.allowedCallers must not name "other": it is a reserved label value',
    ]);
    // allowedCallers restricts who may call whatever the label mode: hashed labels with a restriction are fine.
    expect(problemsOf({ mode: 'jwt', jwt: { ...jwt, allowedCallers: ['a'] } })).toEqual([]);
    expect(problemsOf({ mode: 'jwt', jwt: { ...jwt, jwksCacheSeconds: 60, jwksRefetchCooldownSeconds: 60 } })).toEqual([
      'auth.jwt.jwksRefetchCooldownSeconds must be less than auth.jwt.jwksCacheSeconds',
    ]);
  });
});
