import { defaultsOf, type JSONSchemaProps } from './json-schema.ts';
import { CURRENCY_PATTERN, PRICE_PATTERN } from './patterns.ts';
import { jwtCallersSchema } from './schema-jwt.ts';
import { SERVICE_ACCOUNT_PATTERN } from '../../../proxy/config/schema.ts';

const MODEL_NAME = { type: 'string', minLength: 1, maxLength: 253 } as const satisfies JSONSchemaProps;

/** modelsSchema is `spec.models`. */
export const modelsSchema = {
  description: 'Which models callers may ask for.',
  type: 'object',
  properties: {
    allowed: {
      description:
        'The model names callers may use; a request for any other model is refused. Empty or absent allows every model. ' +
        'Applies to plaintext requests: an encrypted pass-through body hides its model (see passthrough).',
      type: 'array',
      maxItems: 256,
      'x-kubernetes-list-type': 'set',
      items: { description: 'A model name as the upstream knows it.', ...MODEL_NAME },
    },
    aliases: {
      description:
        'Names callers may use for an upstream model: a JSON request naming an alias is sent upstream with the model it maps to, ' +
        'and is metered, priced (the alias\'s own price if spec.prices names it, else its model\'s) and listed by /v1/models under the ' +
        'alias. An alias is offered whatever the allowed list says. Forms (audio transcriptions) must name the model itself.',
      type: 'object',
      maxProperties: 256,
      additionalProperties: {
        type: 'object',
        required: ['model'],
        properties: { model: { description: 'The upstream model the alias stands for (not another alias).', ...MODEL_NAME } },
      },
      'x-kubernetes-validations': [
        { rule: 'self.all(a, size(a) <= 253)', message: 'an alias is at most 253 characters' },
        { rule: 'self.all(a, !(self[a].model in self))', message: 'an alias must map to an upstream model, not to an alias' },
      ],
    },
  },
} as const satisfies JSONSchemaProps;

const AMOUNT = { type: 'string', maxLength: 16, pattern: PRICE_PATTERN } as const satisfies JSONSchemaProps;
const PER_MILLION = 'in the price table\'s currency per million tokens, as a decimal string with at most 6 decimals (e.g. "0.15")';

const MODEL_PRICE = {
  type: 'object',
  required: ['input', 'output'],
  properties: {
    input: { description: `The price of input (prompt) tokens, ${PER_MILLION}.`, ...AMOUNT },
    cachedInput: { description: `The price of cached input tokens, ${PER_MILLION}; absent means the input price.`, ...AMOUNT },
    output: { description: `The price of output (completion) tokens, ${PER_MILLION}.`, ...AMOUNT },
  },
} as const satisfies JSONSchemaProps;

const priceProperties = {
  currency: {
    description: 'The ISO 4217 code of the currency every amount is in (default USD).',
    type: 'string',
    default: 'USD',
    pattern: CURRENCY_PATTERN,
  },
  models: {
    description: 'Prices by model name.',
    type: 'object',
    maxProperties: 512,
    additionalProperties: { description: 'What one model costs per million tokens.', ...MODEL_PRICE },
  },
  default: {
    description: 'What a model without its own entry in models costs; absent means such requests have their tokens counted but no cost.',
    ...MODEL_PRICE,
  },
} as const satisfies Record<string, JSONSchemaProps>;

/** pricesSchema is `spec.prices`; the operator turns each amount into integer micro-units for the proxy. */
export const pricesSchema = {
  description: 'The price table used to meter the cost of each request (docs/architecture.md §7: money is exact, in micro-units).',
  type: 'object',
  default: defaultsOf(priceProperties),
  properties: priceProperties,
} as const satisfies JSONSchemaProps;

const callerProperties = {
  auth: {
    description:
      'How callers authenticate. "none" (default): anyone who can reach the proxy. "serviceaccount": a projected ' +
      'ServiceAccount token whose audience is in audiences, checked with a TokenReview. "static-keys": a bearer key ' +
      'from the Secret named by staticKeysSecretRef. "jwt": a bearer JWT from the issuer described by jwt.',
    type: 'string',
    enum: ['none', 'serviceaccount', 'static-keys', 'jwt'],
    default: 'none',
  },
  audiences: {
    description:
      'The token audiences accepted with auth serviceaccount (required there, forbidden otherwise): without one, ' +
      'a token meant for the API server itself would be accepted.',
    type: 'array',
    maxItems: 16,
    'x-kubernetes-list-type': 'set',
    items: { description: 'A token audience.', type: 'string', minLength: 1, maxLength: 253 },
  },
  allowedServiceAccounts: {
    description:
      'With auth serviceaccount, the only ServiceAccounts admitted, as "<namespace>/<name>" or "<namespace>/*"; ' +
      'any other caller, even with a valid token for an accepted audience, is answered 403 permission_denied. ' +
      'Empty or absent admits every ServiceAccount whose token carries an accepted audience. Allowed only with auth serviceaccount.',
    type: 'array',
    maxItems: 256,
    'x-kubernetes-list-type': 'set',
    items: { description: 'A ServiceAccount, or every ServiceAccount of a namespace.', type: 'string', maxLength: 317, pattern: SERVICE_ACCOUNT_PATTERN },
  },
  staticKeysSecretRef: {
    description:
      'A Secret in the endpoint\'s namespace whose every data key is a key id and whose value is that caller\'s key. ' +
      'Required with auth static-keys, forbidden otherwise.',
    type: 'object',
    required: ['name'],
    properties: { name: { description: 'The Secret\'s name.', type: 'string', minLength: 1, maxLength: 253 } },
  },
  jwt: jwtCallersSchema,
  fromNamespaces: {
    description:
      'Other namespaces whose pods may reach the proxy, besides the endpoint\'s own: the NetworkPolicy admits them to the ' +
      'API port. Allowed only when auth is not none, since the network would then be the only check. Callers still ' +
      'authenticate as auth says (with serviceaccount, allowedServiceAccounts can name theirs).',
    type: 'array',
    maxItems: 64,
    'x-kubernetes-list-type': 'set',
    items: { description: 'A namespace name.', type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
  },
} as const satisfies Record<string, JSONSchemaProps>;

/** callersSchema is `spec.callers`: how the proxy authenticates the clients calling it. */
export const callersSchema = {
  description: 'Who may call the proxy.',
  type: 'object',
  default: defaultsOf(callerProperties),
  properties: callerProperties,
  'x-kubernetes-validations': [
    {
      rule: "self.auth != 'serviceaccount' || (has(self.audiences) && size(self.audiences) > 0)",
      message: 'audiences must name at least one audience when auth is serviceaccount',
      fieldPath: '.audiences',
      reason: 'FieldValueRequired',
    },
    {
      rule: "self.auth == 'serviceaccount' || !has(self.audiences) || size(self.audiences) == 0",
      message: 'audiences is allowed only when auth is serviceaccount',
      fieldPath: '.audiences',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "self.auth == 'serviceaccount' || !has(self.allowedServiceAccounts) || size(self.allowedServiceAccounts) == 0",
      message: 'allowedServiceAccounts is allowed only when auth is serviceaccount',
      fieldPath: '.allowedServiceAccounts',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "self.auth != 'static-keys' || has(self.staticKeysSecretRef)",
      message: 'staticKeysSecretRef is required when auth is static-keys',
      fieldPath: '.staticKeysSecretRef',
      reason: 'FieldValueRequired',
    },
    {
      rule: "self.auth == 'static-keys' || !has(self.staticKeysSecretRef)",
      message: 'staticKeysSecretRef is allowed only when auth is static-keys',
      fieldPath: '.staticKeysSecretRef',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "self.auth != 'jwt' || has(self.jwt)",
      message: 'jwt (with jwksUrl, issuer and audiences) is required when auth is jwt',
      fieldPath: '.jwt',
      reason: 'FieldValueRequired',
    },
    {
      rule: "self.auth != 'none' || !has(self.fromNamespaces) || size(self.fromNamespaces) == 0",
      message: 'fromNamespaces is allowed only when auth is not none: callers from other namespaces must authenticate',
      fieldPath: '.fromNamespaces',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "self.auth == 'jwt' || !has(self.jwt)",
      message: 'jwt is allowed only when auth is jwt',
      fieldPath: '.jwt',
      reason: 'FieldValueForbidden',
    },
  ],
} as const satisfies JSONSchemaProps;

const POSITIVE = { type: 'integer', format: 'int64', minimum: 1 } as const satisfies JSONSchemaProps;

const RATE_FIELDS = {
  requestsPerMinute: { description: 'Requests each caller may make per minute.', ...POSITIVE },
  tokensPerMinute: { description: 'Tokens (input plus output) each caller may use per minute.', ...POSITIVE },
  burstRequests: { description: 'How many requests may arrive at once; defaults to requestsPerMinute. Requires requestsPerMinute.', ...POSITIVE },
  burstTokens: { description: 'How many tokens may be used at once; defaults to tokensPerMinute. Requires tokensPerMinute.', ...POSITIVE },
} as const satisfies Record<string, JSONSchemaProps>;

const NAMESPACE_RATE_FIELDS = {
  ...RATE_FIELDS,
  requestsPerMinute: { description: 'Requests all callers of the namespace may make together per minute.', ...POSITIVE },
  tokensPerMinute: { description: 'Tokens (input plus output) all callers of the namespace may use together per minute.', ...POSITIVE },
} as const satisfies Record<string, JSONSchemaProps>;

const BURST_RULES = [
  { rule: '!has(self.burstRequests) || has(self.requestsPerMinute)', message: 'burstRequests requires requestsPerMinute', fieldPath: '.burstRequests' },
  { rule: '!has(self.burstTokens) || has(self.tokensPerMinute)', message: 'burstTokens requires tokensPerMinute', fieldPath: '.burstTokens' },
] as const;

/** rateLimitsSchema is `spec.rateLimits`: one token bucket per caller and kind, and the namespace's together (docs/architecture.md §7). */
export const rateLimitsSchema = {
  description: 'Limits applied to each caller (token buckets; absent fields mean no limit). Responses carry OpenAI\'s x-ratelimit-* headers.',
  type: 'object',
  properties: {
    ...RATE_FIELDS,
    namespace: {
      description:
        'Limits on all callers of the namespace together, shared by every endpoint and sidecar of the namespace through limitsStore ' +
        '(required with it). Endpoints of one namespace should declare the same.',
      type: 'object',
      properties: NAMESPACE_RATE_FIELDS,
      'x-kubernetes-validations': BURST_RULES,
    },
  },
  'x-kubernetes-validations': BURST_RULES,
} as const satisfies JSONSchemaProps;

/** reservationSchema is `spec.reservation`: how a request's use is estimated while it runs (docs/adr/0007-shared-limits-and-budgets.md). */
export const reservationSchema = {
  description:
    'While a request runs it holds an estimate of its use against rateLimits tokens and budgets: its body size in tokens plus its ' +
    'output maximum (max_completion_tokens, max_tokens or max_output_tokens, times n). It is then charged its real usage, or the ' +
    'estimate when the usage never arrives (the caller left, the answer was cut). Requests in flight thus cannot overshoot the limits.',
  type: 'object',
  properties: {
    defaultOutputTokens: {
      description: 'The output assumed for a request that names no maximum (default 1024).',
      type: 'integer',
      format: 'int32',
      minimum: 1,
      maximum: 10000000,
      default: 1024,
    },
    inputBytesPerToken: {
      description: 'Bytes of request body per estimated prompt token (default 4, the usual size of an English token; 1 is an upper bound for text).',
      type: 'integer',
      format: 'int32',
      minimum: 1,
      maximum: 64,
      default: 4,
    },
  },
} as const satisfies JSONSchemaProps;

/** promptCacheSchema is `spec.promptCache`. */
export const promptCacheSchema = {
  description:
    'Prompt-cache partitioning: the proxy sets user_cache_secret on requests that carry none, so upstream prompt-cache hits ' +
    'are confined to callers of this endpoint.',
  type: 'object',
  properties: {
    secretRef: {
      description: 'The key of a Secret in the endpoint\'s namespace whose value is the cache-partitioning secret.',
      type: 'object',
      required: ['name', 'key'],
      properties: {
        name: { description: 'The Secret\'s name.', type: 'string', minLength: 1, maxLength: 253 },
        key: { description: 'The data key within the Secret.', type: 'string', minLength: 1, maxLength: 253 },
      },
    },
  },
} as const satisfies JSONSchemaProps;

const passthroughProperties = {
  enabled: {
    description:
      'Whether encrypted bodies may pass through (default true). Their model is hidden, so models.allowed cannot apply; ' +
      'usage and cost come from the X-Tinfoil-Usage-Metrics header.',
    type: 'boolean',
    default: true,
  },
} as const satisfies Record<string, JSONSchemaProps>;

/** passthroughSchema is `spec.passthrough`. */
export const passthroughSchema = {
  description: 'Requests whose bodies the caller already encrypted to the enclave (EHBP) and the proxy forwards unread.',
  type: 'object',
  default: defaultsOf(passthroughProperties),
  properties: passthroughProperties,
} as const satisfies JSONSchemaProps;
