import type { IncomingHttpHeaders } from 'node:http';
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { JwtAuthConfig } from '../config/auth-jwt.ts';
import { ProxyError, type ErrorCode } from '../errors.ts';
import { presentedCredential, sha256 } from './credentials.ts';
import { createRemoteJwks, JwksUnavailable, type RemoteJwks } from './jwks.ts';
import type { AuthLogger, Caller, CallerAuthenticator } from './types.ts';

/**
 * JwtRefusalReason is why a JWT was refused: the code in the log line, with one caller-facing
 * sentence each in REFUSALS.
 */
export type JwtRefusalReason =
  | 'missing'
  | 'oversized'
  | 'malformed'
  | 'algorithm'
  | 'unknown_kid'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'claims'
  | 'no_expiry'
  | 'caller_claim'
  | 'caller_not_allowed'
  | 'jwks_unavailable';

/** REFUSALS completes "The JWT was refused: …" for each reason. */
export const REFUSALS: Readonly<Record<JwtRefusalReason, string>> = {
  missing: 'no token was sent',
  oversized: 'it is longer than this endpoint accepts',
  malformed: 'it is not a well-formed signed JWT',
  algorithm: 'its signing algorithm is not allowed',
  unknown_kid: 'no key of the issuer\'s key set matches its "kid"',
  signature: 'its signature does not verify',
  expired: 'it has expired (or was issued too long ago)',
  not_yet_valid: 'it is not valid yet',
  issuer: 'it was issued by another issuer',
  audience: 'it was not issued for this endpoint\'s audience',
  claims: 'a claim is invalid',
  no_expiry: 'it has no "exp" (expiry) claim',
  caller_claim: 'it does not name the caller in the expected claim',
  caller_not_allowed: 'its caller is not allowed to use this endpoint',
  jwks_unavailable: 'the issuer\'s key set could not be fetched; retry later',
};

// jose's error codes (jose/errors), mapped to our reasons. A claim failure is refined by its claim.
const CODE_REASONS: Readonly<Record<string, JwtRefusalReason>> = {
  ERR_JWT_EXPIRED: 'expired',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm',
  ERR_JOSE_NOT_SUPPORTED: 'algorithm',
  ERR_JWKS_NO_MATCHING_KEY: 'unknown_kid',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'unknown_kid',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature',
  ERR_JWS_INVALID: 'malformed',
  ERR_JWT_INVALID: 'malformed',
};
const CLAIM_REASONS: Readonly<Record<string, JwtRefusalReason>> = { iss: 'issuer', aud: 'audience', nbf: 'not_yet_valid', iat: 'not_yet_valid' };
// REQUIRED_CLAIMS must be present: RFC 7519 makes `exp` optional, but a token without it never
// expires, so a leaked one could be replayed for ever (RFC 8725 §3.10 asks verifiers to bound lifetimes).
const REQUIRED_CLAIMS = ['exp'];

/** refusalReason classifies an error thrown while verifying a token. */
export function refusalReason(error: unknown): JwtRefusalReason {
  if (error instanceof JwksUnavailable) return 'jwks_unavailable';
  const { code, claim, reason } = (error ?? {}) as { code?: unknown; claim?: unknown; reason?: unknown };
  // jose's reason is `check_failed` for a wrong value; `missing` and `invalid` (wrong type) are plain claim errors.
  if (code !== 'ERR_JWT_CLAIM_VALIDATION_FAILED') return CODE_REASONS[String(code)] ?? 'malformed';
  if (claim === 'exp' && reason === 'missing') return 'no_expiry';
  return (reason === 'check_failed' ? CLAIM_REASONS[String(claim)] : undefined) ?? 'claims';
}

// A JWS compact serialisation (RFC 7515 §7.1): three base64url parts. An empty signature passes here
// so that an unsecured JWT (`alg: none`, RFC 7519 §6) is refused by jose for its algorithm.
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
// Credential headers are checked for size before presentedCredential reads them; the slack covers "Bearer ".
const CREDENTIAL_HEADERS = ['authorization', 'api-key', 'x-api-key'] as const;
const HEADER_SLACK = 16;
const HASH_HEX_CHARS = 12;
// Refusals that are not a bad credential: an unreachable key set (retry), a caller not allowed here.
const REFUSAL_CODES: Partial<Record<JwtRefusalReason, ErrorCode>> = { jwks_unavailable: 'auth_unavailable', caller_not_allowed: 'permission_denied' };

/**
 * callerLabel names an admitted caller with a bounded label: `jwt:<value>` with `callerLabel:
 * allow-list` (only allow-listed values are admitted, so the label set is the list), else
 * `jwt:<first 12 hex digits of the value's SHA-256>`. A label never carries an unbounded,
 * caller-chosen string: an unlisted value falls back to the hash.
 */
export function callerLabel(value: string, config: Pick<JwtAuthConfig, 'callerLabel' | 'allowedCallers'>): string {
  if (config.callerLabel === 'allow-list' && config.allowedCallers.includes(value)) return `jwt:${value}`;
  return `jwt:${sha256(value).toString('hex').slice(0, HASH_HEX_CHARS)}`;
}

function claimValue(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  if (typeof value === 'string' && value !== '') return value;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

function headerLength(value: string | string[] | undefined): number {
  return Array.isArray(value) ? value.reduce((n, v) => n + v.length, 0) : (value?.length ?? 0);
}

/** kidOf reads the unverified `kid` for the log (bounded), or undefined. */
function kidOf(token: string): string | undefined {
  try {
    const { kid } = decodeProtectedHeader(token);
    return typeof kid === 'string' ? kid.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}

/** JwtAuthDeps are the clock, the logger and, for tests, a key set to share. */
export interface JwtAuthDeps {
  now(): number;
  readonly logger: AuthLogger;
  readonly jwks?: RemoteJwks;
}

/**
 * createJwtAuthenticator authenticates callers by JWTs (RFC 7519) signed by one issuer, verified
 * with jose against the issuer's JWKS: signature, an allowed asymmetric algorithm, `iss`, `aud`,
 * a required `exp` and `nbf` with the configured clock skew and, if set, the token's age. Oversized
 * and malformed tokens are refused before any key is looked up. Every refusal of the token is
 * `invalid_api_key` (401) with a reason, logged with its reason code and never the token; a valid
 * token whose caller is not on a non-empty `allowedCallers` is `permission_denied` (403); a key set
 * that cannot be fetched is `auth_unavailable` (503), failing closed.
 */
export function createJwtAuthenticator(config: JwtAuthConfig, deps: JwtAuthDeps): CallerAuthenticator {
  const jwks = deps.jwks ?? createRemoteJwks(
    { url: config.jwksUrl, maxAgeMs: config.jwksCacheSeconds * 1000, cooldownMs: config.jwksRefetchCooldownSeconds * 1000, timeoutMs: config.jwksTimeoutMs },
    deps,
  );
  const refuse = (reason: JwtRefusalReason, token?: string, error?: unknown): ProxyError => {
    const kid = token === undefined ? undefined : kidOf(token);
    deps.logger.warn({ reason, ...(kid !== undefined ? { kid } : {}) }, 'jwt auth: token refused');
    const message = `The JWT was refused: ${REFUSALS[reason]}.`;
    return new ProxyError(REFUSAL_CODES[reason] ?? 'invalid_api_key', message, { cause: error });
  };

  const presentedToken = (headers: IncomingHttpHeaders): string => {
    if (CREDENTIAL_HEADERS.some((h) => headerLength(headers[h]) > config.maxTokenBytes + HEADER_SLACK)) throw refuse('oversized');
    let token: string;
    try {
      token = presentedCredential(headers);
    } catch (error) {
      throw refuse(CREDENTIAL_HEADERS.some((h) => headers[h] !== undefined) ? 'malformed' : 'missing', undefined, error);
    }
    if (Buffer.byteLength(token, 'utf8') > config.maxTokenBytes) throw refuse('oversized');
    if (!JWS_COMPACT.test(token)) throw refuse('malformed');
    return token;
  };

  const verify = async (token: string): Promise<JWTPayload> => {
    try {
      const { payload } = await jwtVerify(token, jwks.key, {
        issuer: config.issuer,
        audience: [...config.audiences],
        algorithms: [...config.algorithms],
        clockTolerance: config.clockSkewSeconds,
        requiredClaims: REQUIRED_CLAIMS,
        ...(config.maxTokenAgeSeconds !== undefined ? { maxTokenAge: config.maxTokenAgeSeconds } : {}),
        currentDate: new Date(deps.now()),
      });
      return payload;
    } catch (error) {
      throw refuse(refusalReason(error), token, error);
    }
  };

  return {
    authenticate: async (headers: IncomingHttpHeaders): Promise<Caller> => {
      const token = presentedToken(headers);
      const payload = await verify(token);
      const value = claimValue(payload, config.callerClaim);
      if (value === undefined) throw refuse('caller_claim', token);
      if (config.allowedCallers.length > 0 && !config.allowedCallers.includes(value)) throw refuse('caller_not_allowed', token);
      return { kind: 'jwt', label: callerLabel(value, config) };
    },
  };
}
