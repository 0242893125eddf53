import Type from 'typebox';

/**
 * The `limits` section of the proxy's configuration: rates and spend budgets, per caller and for
 * the whole namespace, and the store that keeps them (docs/adr/0007-shared-limits-and-budgets.md).
 */

const Positive = Type.Integer({ minimum: 1 });
const Micros = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'integer micro-units of the price table currency; 0 refuses every request' });

const rateFields = {
  requestsPerMinute: Type.Optional(Positive),
  tokensPerMinute: Type.Optional(Positive),
  burstRequests: Type.Optional(Positive),
  burstTokens: Type.Optional(Positive),
};

const BudgetSchema = Type.Object(
  { dailyMicros: Type.Optional(Micros), monthlyMicros: Type.Optional(Micros) },
  { additionalProperties: false },
);

/** RedisStoreSchema is where the shared buckets live and what to do when they cannot be reached. */
export const RedisStoreSchema = Type.Object(
  {
    url: Type.String({ pattern: '^rediss?://', description: 'redis://host:port/db, or rediss:// for TLS; no password in the URL' }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
    tls: Type.Optional(Type.Object(
      { caFile: Type.Optional(Type.String({ minLength: 1 })), serverName: Type.Optional(Type.String({ minLength: 1 })) },
      { additionalProperties: false },
    )),
    keyPrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    timeoutMs: Type.Integer({ minimum: 10, maximum: 10_000, default: 250 }),
    failurePolicy: Type.Union([Type.Literal('FailOpen'), Type.Literal('FailClosed')], { default: 'FailOpen' }),
  },
  { additionalProperties: false },
);

export const LimitsSchema = Type.Object(
  {
    ...rateFields,
    namespace: Type.Optional(Type.Object(rateFields, { additionalProperties: false })),
    budgets: Type.Object(
      { caller: Type.Optional(BudgetSchema), namespace: Type.Optional(BudgetSchema) },
      { additionalProperties: false, default: {} },
    ),
    reservation: Type.Object(
      {
        defaultOutputTokens: Type.Integer({
          minimum: 1,
          maximum: 10_000_000,
          default: 1024,
          description: 'the output a request is assumed to produce when it names no maximum (max_tokens, max_completion_tokens, max_output_tokens), reserved against token limits and budgets until it ends',
        }),
        inputBytesPerToken: Type.Integer({
          minimum: 1,
          maximum: 64,
          default: 4,
          description: 'bytes of request body per estimated prompt token; 1 reserves an upper bound for text (a token is at least one byte), 4 the usual size of English tokens',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.Object(
      { type: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory' }), redis: Type.Optional(RedisStoreSchema) },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** LimitsConfig is the validated `limits` section. */
export type LimitsConfig = Type.Static<typeof LimitsSchema>;

/** RedisStoreConfig is `limits.store.redis`, defaults applied. */
export type RedisStoreConfig = Type.Static<typeof RedisStoreSchema>;

/** limitsProblems checks what the schema cannot: a redis store needs its connection, and only a redis store has one. */
export function limitsProblems(limits: LimitsConfig): string[] {
  const { type, redis } = limits.store;
  if (type === 'redis' && redis === undefined) return ['limits.store.redis is required when limits.store.type is redis'];
  if (type === 'memory' && redis !== undefined) return ['limits.store.redis is only allowed when limits.store.type is redis'];
  return [];
}

/** defaultKeyPrefix keeps each namespace's buckets apart, in one Redis Cluster slot (the braces are a hash tag). */
export function defaultKeyPrefix(namespace: string): string {
  return `aio:{${namespace}}:`;
}
