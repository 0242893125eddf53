import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newSigningKey, startJwksServer, unsignedToken, type JwksServer } from '../../test/harness/jwks-server.ts';
import { SignJWT } from 'jose';
import Value from 'typebox/value';
import { JwtAuthSchema, type JwtAuthConfig } from '../config/auth-jwt.ts';
import { ProxyError } from '../errors.ts';
import { callerLabel, createJwtAuthenticator, refusalReason } from './jwt.ts';
import type { AuthLogger, Caller, CallerAuthenticator } from './types.ts';

interface Setup {
  readonly auth: CallerAuthenticator;
  readonly lines: string[];
  /** advance moves the authenticator's clock forward. */
  advance(seconds: number): void;
  as(token: string): Promise<Caller>;
  refusal(token: string | IncomingHttpHeaders): Promise<{ error: ProxyError; reason: string | undefined }>;
}

/** configFor is the proxy's `auth.jwt` for `server`, with the schema's defaults and `overrides`. */
function configFor(server: JwksServer, overrides: Partial<JwtAuthConfig> = {}): JwtAuthConfig {
  const raw = { jwksUrl: server.url, issuer: server.issuer, audiences: [server.audience], jwksTimeoutMs: 2000, ...overrides };
  return Value.Default(JwtAuthSchema, raw) as JwtAuthConfig;
}

function setup(config: JwtAuthConfig): Setup {
  const lines: string[] = [];
  const record = (fields: object, message: string): void => {
    lines.push(`${message} ${JSON.stringify(fields)}`);
  };
  const logger: AuthLogger = { info: record, warn: record };
  let offsetMs = 0;
  const auth = createJwtAuthenticator(config, { logger, now: () => Date.now() + offsetMs });
  const headersOf = (t: string | IncomingHttpHeaders): IncomingHttpHeaders => (typeof t === 'string' ? { authorization: `Bearer ${t}` } : t);
  return {
    auth,
    lines,
    advance: (seconds) => {
      offsetMs += seconds * 1000;
    },
    as: (token) => auth.authenticate(headersOf(token)),
    refusal: async (t) => {
      const before = lines.length;
      const error: unknown = await auth.authenticate(headersOf(t)).then(() => new Error('expected a refusal'), (e: unknown) => e);
      if (!(error instanceof ProxyError)) throw error;
      const logged = lines.slice(before).find((l) => l.startsWith('jwt auth: token refused'));
      return { error, reason: /"reason":"([a-z_]+)"/.exec(logged ?? '')?.[1] };
    },
  };
}

const hashLabel = (value: string): string => `jwt:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;

describe('JWT callers verified against a JWKS', () => {
  let server: JwksServer;
  beforeAll(async () => {
    server = await startJwksServer();
  });
  afterEach(() => {
    server.failWith(200);
    server.serveBody(undefined);
  });
  afterAll(async () => {
    await server.close();
  });

  it('admits a valid token, labels the caller by a hash of its claim, and fetches the key set once', async () => {
    const s = setup(configFor(server));
    const before = server.hits();
    expect(await s.as(await server.sign())).toEqual({ kind: 'jwt', label: hashLabel('caller-1') });
    expect(await s.as(await server.sign({ claims: { sub: 'caller-2' } }))).toEqual({ kind: 'jwt', label: hashLabel('caller-2') });
    expect(server.hits()).toBe(before + 1);
  });

  it('names callers from the configured claim, allow-listed values as themselves', async () => {
    const s = setup(configFor(server, { callerClaim: 'client_id', callerLabel: 'allow-list', allowedCallers: ['billing'] }));
    expect((await s.as(await server.sign({ claims: { client_id: 'billing' } }))).label).toBe('jwt:billing');
    const missing = await s.refusal(await server.sign());
    expect(missing.reason).toBe('caller_claim');
    expect(missing.error.status).toBe(401);
  });

  it('refuses a verified caller not on allowedCallers with 403 permission_denied, whatever the label mode', async () => {
    for (const callerLabelMode of ['allow-list', 'hash'] as const) {
      const s = setup(configFor(server, { callerClaim: 'client_id', callerLabel: callerLabelMode, allowedCallers: ['billing'] }));
      expect((await s.as(await server.sign({ claims: { client_id: 'billing' } }))).kind).toBe('jwt');
      const { error, reason } = await s.refusal(await server.sign({ claims: { client_id: 'x'.repeat(500) } }));
      expect(error).toMatchObject({ code: 'permission_denied', status: 403 });
      expect(error.message).toBe('The JWT was refused: its caller is not allowed to use this endpoint.');
      expect(reason).toBe('caller_not_allowed');
      expect(s.lines.join('\n')).not.toContain('x'.repeat(500));
    }
  });

  it('admits every verified caller when allowedCallers is empty', async () => {
    const s = setup(configFor(server, { callerClaim: 'client_id' }));
    expect(await s.as(await server.sign({ claims: { client_id: 'anyone' } }))).toEqual({ kind: 'jwt', label: hashLabel('anyone') });
  });

  it('refuses a token without exp: a token that never expires is a credential that cannot be revoked', async () => {
    const s = setup(configFor(server));
    const { error, reason } = await s.refusal(await server.sign({ claims: { exp: undefined } }));
    expect(reason).toBe('no_expiry');
    expect(error).toMatchObject({ code: 'invalid_api_key', status: 401 });
    expect(error.message).toBe('The JWT was refused: it has no "exp" (expiry) claim.');
  });

  it('refuses expired tokens, but tolerates the configured clock skew', async () => {
    const s = setup(configFor(server, { clockSkewSeconds: 30 }));
    expect((await s.as(await server.sign({ expiresInSeconds: -10 }))).kind).toBe('jwt');
    const { error, reason } = await s.refusal(await server.sign({ expiresInSeconds: -60 }));
    expect(reason).toBe('expired');
    expect(error.code).toBe('invalid_api_key');
    expect(error.message).toBe('The JWT was refused: it has expired (or was issued too long ago).');
  });

  it('refuses tokens older than maxTokenAgeSeconds, and tokens not valid yet', async () => {
    const s = setup(configFor(server, { maxTokenAgeSeconds: 60 }));
    const now = Math.floor(Date.now() / 1000);
    expect((await s.refusal(await server.sign({ claims: { iat: now - 600 } }))).reason).toBe('expired');
    expect((await s.refusal(await server.sign({ claims: { nbf: now + 600 } }))).reason).toBe('not_yet_valid');
  });

  it('refuses a wrong audience, a wrong issuer and a claim of the wrong type', async () => {
    const s = setup(configFor(server));
    expect((await s.refusal(await server.sign({ claims: { aud: 'someone-else' } }))).reason).toBe('audience');
    expect((await s.refusal(await server.sign({ claims: { iss: 'https://evil.example' } }))).reason).toBe('issuer');
    expect((await s.refusal(await server.sign({ claims: { iss: undefined } }))).reason).toBe('claims');
    expect((await s.refusal(await server.sign({ claims: { nbf: 'soon' as unknown as number } }))).reason).toBe('claims');
  });

  it('refuses alg none, and an allowed-by-jose algorithm that is not configured, without fetching keys', async () => {
    const s = setup(configFor(server, { algorithms: ['ES256'] }));
    const before = server.hits();
    const now = Math.floor(Date.now() / 1000);
    const none = await s.refusal(unsignedToken({ iss: server.issuer, aud: server.audience, sub: 'caller-1', exp: now + 600 }));
    expect(none.reason).toBe('algorithm');
    expect(none.error.status).toBe(401);
    const rsa = await newSigningKey('RS256');
    expect((await s.refusal(await server.sign({ key: rsa }))).reason).toBe('algorithm');
    // Algorithm confusion: an HMAC token keyed with the issuer's public key (RFC 8725 §2.1).
    const hmac = await new SignJWT({ iss: server.issuer, aud: server.audience, sub: 'caller-1', exp: now + 600 })
      .setProtectedHeader({ alg: 'HS256', kid: server.current().kid })
      .sign(new TextEncoder().encode(JSON.stringify(server.current().jwk)));
    expect((await s.refusal(hmac)).reason).toBe('algorithm');
    expect(server.hits()).toBe(before);
  });

  it('refuses a tampered payload and a tampered signature', async () => {
    const s = setup(configFor(server));
    const [header, , signature] = (await server.sign()).split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ iss: server.issuer, aud: server.audience, sub: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
    expect((await s.refusal(`${header}.${forged}.${signature}`)).reason).toBe('signature');
    const token = await server.sign();
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1)!;
    expect((await s.refusal(flipped)).reason).toBe('signature');
  });

  it('refuses oversized, malformed and missing tokens before looking up any key', async () => {
    const s = setup(configFor(server, { maxTokenBytes: 1024 }));
    const before = server.hits();
    const big = await server.sign({ claims: { pad: 'x'.repeat(2000) } });
    expect((await s.refusal(big)).reason).toBe('oversized');
    expect((await s.refusal({ authorization: `Bearer ${'y'.repeat(40_000)}` })).reason).toBe('oversized');
    expect((await s.refusal('not-a-jwt')).reason).toBe('malformed');
    expect((await s.refusal({ authorization: 'Basic abc' })).reason).toBe('malformed');
    expect((await s.refusal({})).reason).toBe('missing');
    expect(server.hits()).toBe(before);
  });

  it('refetches the key set for an unknown kid after a rotation, at most once per cooldown', async () => {
    const s = setup(configFor(server, { jwksRefetchCooldownSeconds: 30 }));
    expect((await s.as(await server.sign())).kind).toBe('jwt');
    const afterFirst = server.hits();
    const rotated = await server.rotate();
    // Within the cooldown the new kid is unknown and nothing is fetched, however many tokens arrive.
    for (let i = 0; i < 5; i++) expect((await s.refusal(await server.sign({ key: rotated }))).reason).toBe('unknown_kid');
    expect(server.hits()).toBe(afterFirst);
    s.advance(31);
    expect((await s.as(await server.sign({ key: rotated }))).kind).toBe('jwt');
    expect(server.hits()).toBe(afterFirst + 1);
    // A kid nobody serves: refused; refetched once after the next cooldown, then not again.
    for (let i = 0; i < 5; i++) expect((await s.refusal(await server.sign({ kid: 'nobody' }))).reason).toBe('unknown_kid');
    expect(server.hits()).toBe(afterFirst + 1);
    s.advance(31);
    await Promise.all(Array.from({ length: 5 }, async () => expect((await s.refusal(await server.sign({ kid: 'nobody' }))).reason).toBe('unknown_kid')));
    expect(server.hits()).toBe(afterFirst + 2);
  });

  it('shares one fetch among concurrent requests and refreshes a key set older than jwksCacheSeconds', async () => {
    const s = setup(configFor(server, { jwksCacheSeconds: 60, jwksRefetchCooldownSeconds: 10 }));
    const before = server.hits();
    const tokens = await Promise.all(Array.from({ length: 8 }, () => server.sign()));
    await Promise.all(tokens.map((t) => s.as(t)));
    expect(server.hits()).toBe(before + 1);
    s.advance(61);
    await s.as(await server.sign());
    expect(server.hits()).toBe(before + 2);
  });

  it('fails closed with 503 when the key set cannot be fetched, without hammering the issuer, and recovers', async () => {
    const s = setup(configFor(server, { jwksRefetchCooldownSeconds: 5, jwksCacheSeconds: 60 }));
    server.failWith(503);
    const before = server.hits();
    const token = await server.sign();
    const down = await s.refusal(token);
    expect(down.reason).toBe('jwks_unavailable');
    expect(down.error).toMatchObject({ code: 'auth_unavailable', status: 503 });
    expect((await s.refusal(token)).reason).toBe('jwks_unavailable');
    expect(server.hits()).toBe(before + 1);
    server.failWith(200);
    s.advance(6);
    expect((await s.as(token)).kind).toBe('jwt');
    // Once the set has expired, a failed refresh does not keep the old keys in use.
    server.failWith(500);
    s.advance(61);
    expect((await s.refusal(token)).reason).toBe('jwks_unavailable');
  });

  it('treats an unreachable or garbled key set as unavailable', async () => {
    const closed = await startJwksServer();
    await closed.close();
    const unreachable = setup({ ...configFor(server), jwksUrl: closed.url });
    expect((await unreachable.refusal(await server.sign())).reason).toBe('jwks_unavailable');
    expect(unreachable.lines.some((l) => l.startsWith('jwt auth: key set fetch failed'))).toBe(true);
    for (const body of ['not json', '{"keys": "none"}', JSON.stringify({ keys: [{ kty: 'EC', kid: 'x'.repeat(300_000) }] })]) {
      server.serveBody(body);
      const garbled = setup(configFor(server));
      expect((await garbled.refusal(await server.sign())).reason, body.slice(0, 20)).toBe('jwks_unavailable');
      if (body.length > 256 * 1024) expect(garbled.lines.join('\n')).toContain('larger than 262144 bytes');
    }
  });

  it('never logs the token', async () => {
    const s = setup(configFor(server));
    const tokens = [await server.sign(), await server.sign({ expiresInSeconds: -600 }), await server.sign({ kid: 'nobody' })];
    await s.as(tokens[0]!);
    await s.refusal(tokens[1]!);
    await s.refusal(tokens[2]!);
    expect(s.lines.length).toBeGreaterThanOrEqual(3);
    for (const token of tokens) {
      for (const part of token.split('.')) expect(s.lines.join('\n')).not.toContain(part);
    }
    expect(s.lines.join('\n')).toContain('"kid":"nobody"');
  });
});

describe('callerLabel and refusalReason', () => {
  it('bounds labels: allow-listed values or a 12-digit hash prefix', () => {
    expect(callerLabel('a', { callerLabel: 'allow-list', allowedCallers: ['a'] })).toBe('jwt:a');
    expect(callerLabel('a', { callerLabel: 'hash', allowedCallers: ['a'] })).toBe(hashLabel('a'));
    expect(callerLabel('z'.repeat(10_000), { callerLabel: 'hash', allowedCallers: [] })).toMatch(/^jwt:[0-9a-f]{12}$/);
  });

  it('maps an unknown error to malformed, never to an admission', () => {
    expect(refusalReason(new TypeError('boom'))).toBe('malformed');
    expect(refusalReason(undefined)).toBe('malformed');
    expect(refusalReason({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'sub', reason: 'check_failed' })).toBe('claims');
    expect(refusalReason({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud', reason: 'missing' })).toBe('claims');
    expect(refusalReason({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud', reason: 'check_failed' })).toBe('audience');
  });
});
