import Type, { type TInteger } from 'typebox';
import { JwtAuthSchema } from './auth-jwt.ts';
import { LimitsSchema } from './schema-limits.ts';

/**
 * The proxy's configuration schema, version `proxy.attested.dev/v1alpha1`. It is the contract
 * between the proxy and whoever renders its configuration (the operator, the webhook, the
 * quickstart): they import this module, and a test loads everything they can render.
 */
export const CONFIG_API_VERSION = 'proxy.attested.dev/v1alpha1';

/** TINFOIL_UPSTREAM_URL is where a `tinfoil` provider sends requests unless the configuration names another upstream. */
export const TINFOIL_UPSTREAM_URL = 'https://inference.tinfoil.sh';

const Port = (fallback: number): TInteger => Type.Integer({ minimum: 1, maximum: 65535, default: fallback });
const Name = Type.String({ minLength: 1, maxLength: 253 });
// A namespace (an RFC 1123 label) and a ServiceAccount name (an RFC 1123 subdomain), or `*` for all of the namespace.
/** SERVICE_ACCOUNT_PATTERN matches an allowed ServiceAccount: `<namespace>/<name>` or `<namespace>/*`. */
export const SERVICE_ACCOUNT_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/(\\*|[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?)$';
const Micros = Type.Integer({ minimum: 0, description: 'integer micro-units of the currency per million tokens' });

// eslint-disable-next-line @typescript-eslint/explicit-function-return-type -- the inferred schema type is the point
const Listen = (port: number, host: string) =>
  Type.Object({ host: Type.String({ default: host }), port: Port(port) }, { additionalProperties: false, default: {} });

export const ModelPriceSchema = Type.Object(
  { inputPerMillion: Micros, cachedInputPerMillion: Type.Optional(Micros), outputPerMillion: Micros },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    apiVersion: Type.Literal(CONFIG_API_VERSION),
    endpoint: Type.Object(
      { name: Type.String({ default: 'local' }), namespace: Type.String({ default: 'default' }) },
      { additionalProperties: false, default: {} },
    ),
    listen: Listen(8080, '0.0.0.0'),
    admin: Listen(9090, '0.0.0.0'),
    provider: Type.Object(
      {
        type: Type.Union([Type.Literal('tinfoil'), Type.Literal('openai-compatible'), Type.Literal('privatemode')]),
        upstreamUrl: Type.Optional(Type.String({ format: 'uri' })),
        apiKeyFile: Type.Optional(Type.String({ minLength: 1 })),
        /** apiKeyFiles is a pool of provider keys, one file each, spread per request (upstream/key-pool.ts); instead of apiKeyFile. */
        apiKeyFiles: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 8 })),
        acknowledgeUnattested: Type.Boolean({ default: false }),
        connectTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
        timeoutMs: Type.Integer({ minimum: 1000, default: 600_000 }),
      },
      { additionalProperties: false },
    ),
    attestation: Type.Object(
      {
        trust: Type.Union([Type.Literal('Verified'), Type.Literal('Development')], { default: 'Verified' }),
        configRepo: Type.String({ pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$', default: 'tinfoilsh/confidential-model-router' }),
        bundleUrl: Type.String({ format: 'uri', default: 'https://atc.tinfoil.sh' }),
        developmentPublicKey: Type.Optional(Type.String({ minLength: 1 })),
        policy: Type.Union([Type.Literal('Follow'), Type.Literal('Pin')], { default: 'Follow' }),
        pinnedDigests: Type.Array(Type.String({ pattern: '^[0-9a-f]{64}$' }), { default: [] }),
        recheckIntervalSeconds: Type.Integer({ minimum: 10, default: 300 }),
        firstVerificationWindowSeconds: Type.Integer({
          minimum: 0,
          maximum: 3600,
          default: 60,
          description: 'how long /readyz waits for the first successful verification of the upstream after start; past it the proxy turns ready anyway and answers 503 attestation_pending or attestation_failed (docs/adr/0013). 0: ready at once',
        }),
        reattestMinIntervalSeconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          default: 30,
          description: 'the least time between two re-attestations asked for by upstream answers (a stale key); callers can cause those answers, so they are rate-bounded',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    passthrough: Type.Object({ enabled: Type.Boolean({ default: true }) }, { additionalProperties: false, default: {} }),
    models: Type.Object(
      {
        allowed: Type.Array(Name, { default: [] }),
        aliases: Type.Record(Name, Type.Object({ model: Name }, { additionalProperties: false }), {
          default: {},
          maxProperties: 256,
          description: 'names callers may use for an upstream model: a JSON request naming an alias is sent upstream with the model it maps to',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    prices: Type.Object(
      {
        currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'USD' }),
        models: Type.Record(Type.String(), ModelPriceSchema, { default: {} }),
        default: Type.Optional(ModelPriceSchema),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        mode: Type.Union([Type.Literal('none'), Type.Literal('serviceaccount'), Type.Literal('static-keys'), Type.Literal('jwt')], { default: 'none' }),
        audiences: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        tokenReviewCacheSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 60 }),
        allowedServiceAccounts: Type.Array(Type.String({ pattern: SERVICE_ACCOUNT_PATTERN, maxLength: 317 }), {
          maxItems: 256,
          default: [],
          description: 'with auth.mode serviceaccount, the only ServiceAccounts admitted (`<namespace>/<name>` or `<namespace>/*`); others get 403 permission_denied. Empty admits every one',
        }),
        staticKeysFile: Type.Optional(Type.String({ minLength: 1 })),
        jwt: Type.Optional(JwtAuthSchema),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: LimitsSchema,
    promptCache: Type.Object(
      { userCacheSecretFile: Type.Optional(Type.String({ minLength: 1 })) },
      { additionalProperties: false, default: {} },
    ),
    cors: Type.Object(
      { enabled: Type.Boolean({ default: false }), allowedOrigins: Type.Array(Type.String(), { default: [] }) },
      { additionalProperties: false, default: {} },
    ),
    maxBodyBytes: Type.Integer({ minimum: 1024, default: 26_214_400 }),
    timeouts: Type.Object(
      {
        headersSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 20, description: 'the time a caller has to send the request headers' }),
        requestSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 120, description: 'the time a caller has to send the whole request, body included; not the answer' }),
        idleSeconds: Type.Integer({ minimum: 0, maximum: 86_400, default: 900, description: 'a connection with no traffic either way for this long is closed; 0 never (an answer may pause while the model works)' }),
      },
      { additionalProperties: false, default: {} },
    ),
    shutdownGraceSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 25 }),
    shutdownDrainSeconds: Type.Integer({ minimum: 0, maximum: 60, default: 2 }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
  },
  { additionalProperties: false },
);

/** ProxyConfig is a validated configuration with every default applied. */
export type ProxyConfig = Type.Static<typeof ConfigSchema>;
