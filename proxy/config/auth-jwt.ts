import Type from 'typebox';

/**
 * JWT_ALGORITHMS are the JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) a JWT caller's token may be
 * signed with: asymmetric only. `none` and the HMAC family are absent on purpose: an HMAC key would
 * have to be shared with every verifier, and a public JWKS key used as an HMAC secret is the
 * classic algorithm-confusion forgery.
 */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** JwtAlgorithm is one of JWT_ALGORITHMS. */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** DEFAULT_JWT_ALGORITHMS is what a configuration that names no algorithms accepts. */
export const DEFAULT_JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

/** MAX_JWT_BYTES is the largest `maxTokenBytes` allowed: the proxy never reads a longer credential. */
export const MAX_JWT_BYTES = 16_384;

/** CALLER_VALUE_LENGTH bounds an allow-listed claim value, which becomes a metric label. */
export const CALLER_VALUE_LENGTH = 128;

/** OTHER_CALLERS is reserved: `other` is the label value that stands for unlisted names (docs/metrics.md). */
export const OTHER_CALLERS = 'other';

/**
 * JwtAuthSchema is `auth.jwt`: how callers' JWTs are verified (RFC 7519) and how a caller is named.
 * Required when `auth.mode` is `jwt`.
 */
export const JwtAuthSchema = Type.Object(
  {
    jwksUrl: Type.String({ format: 'uri', description: 'the issuer\'s JSON Web Key Set (RFC 7517 §5); https unless attestation.trust is Development' }),
    issuer: Type.String({ minLength: 1, description: 'the exact `iss` every token must carry' }),
    audiences: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'a token\'s `aud` must name one of these' }),
    algorithms: Type.Array(Type.Enum(JWT_ALGORITHMS), { minItems: 1, default: [...DEFAULT_JWT_ALGORITHMS] }),
    clockSkewSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
    maxTokenAgeSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'refuse tokens issued (`iat`) longer ago than this' })),
    maxTokenBytes: Type.Integer({ minimum: 512, maximum: MAX_JWT_BYTES, default: 8192 }),
    callerClaim: Type.String({ minLength: 1, default: 'sub' }),
    callerLabel: Type.Union([Type.Literal('hash'), Type.Literal('allow-list')], { default: 'hash' }),
    allowedCallers: Type.Array(Type.String({ minLength: 1, maxLength: CALLER_VALUE_LENGTH }), {
      maxItems: 256,
      default: [],
      description: 'when non-empty, the only caller claim values admitted; any other verified caller is refused with 403 permission_denied',
    }),
    jwksCacheSeconds: Type.Integer({ minimum: 30, maximum: 86_400, default: 300 }),
    jwksRefetchCooldownSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
    jwksTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  },
  { additionalProperties: false },
);

/** JwtAuthConfig is a validated `auth.jwt` with its defaults applied. */
export type JwtAuthConfig = Type.Static<typeof JwtAuthSchema>;

/** jwtAuthProblems checks the `auth.jwt` rules a JSON Schema cannot express. */
export function jwtAuthProblems(auth: { readonly mode: string; readonly jwt?: JwtAuthConfig }): string[] {
  const { mode, jwt } = auth;
  if (mode !== 'jwt') return jwt === undefined ? [] : ['auth.jwt is only allowed when auth.mode is jwt'];
  if (jwt === undefined) return ['auth.jwt is required when auth.mode is jwt'];
  const problems: string[] = [];
  if (jwt.callerLabel === 'allow-list' && jwt.allowedCallers.length === 0) {
    problems.push('auth.jwt.allowedCallers must name at least one caller when auth.jwt.callerLabel is allow-list');
  }
  if (jwt.allowedCallers.includes(OTHER_CALLERS)) {
    problems.push(`auth.jwt.allowedCallers must not name "${OTHER_CALLERS}": it is a reserved label value`);
  }
  if (jwt.jwksRefetchCooldownSeconds >= jwt.jwksCacheSeconds) {
    problems.push('auth.jwt.jwksRefetchCooldownSeconds must be less than auth.jwt.jwksCacheSeconds');
  }
  return problems;
}
