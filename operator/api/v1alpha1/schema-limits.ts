import type { JSONSchemaProps } from './json-schema.ts';
import { PRICE_PATTERN } from './patterns.ts';

/**
 * `spec.budgets` and `spec.limitsStore`: spend budgets, and the Redis that every proxy of the
 * namespace shares limits and budgets through (docs/adr/0007-shared-limits-and-budgets.md).
 */

const AMOUNT = { type: 'string', maxLength: 16, pattern: PRICE_PATTERN } as const satisfies JSONSchemaProps;
const IN_CURRENCY = 'in the price table\'s currency, as a decimal string with at most 6 decimals (e.g. "25" or "0.50")';

const WINDOWS = {
  type: 'object',
  properties: {
    daily: { description: `The most that may be spent per UTC calendar day, ${IN_CURRENCY}.`, ...AMOUNT },
    monthly: { description: `The most that may be spent per UTC calendar month, ${IN_CURRENCY}.`, ...AMOUNT },
  },
} as const satisfies JSONSchemaProps;

/** budgetsSchema is `spec.budgets`. */
export const budgetsSchema = {
  description:
    'Spend budgets, priced with spec.prices like the cost metrics. A request is refused (429 insufficient_quota, with the reset time) ' +
    'when its estimated cost (see reservation) does not fit in what is left of the window\'s budget; it is then charged its real cost, ' +
    'so requests in flight cannot overshoot the budget. Requires limitsStore.',
  type: 'object',
  properties: {
    perCaller: { description: 'What each caller may spend, across every endpoint of the namespace that declares it.', ...WINDOWS },
    namespace: { description: 'What all callers of the namespace may spend together.', ...WINDOWS },
  },
} as const satisfies JSONSchemaProps;

/** secretKeyRef is a reference to one key of a Secret in the endpoint's namespace, with its default key. */
const secretKeyRef = <const K extends string>(description: string, key: K) => ({
  description: `${description}: a key of a Secret in this namespace, mounted into the proxy container only.`,
  type: 'object',
  required: ['name'],
  properties: {
    name: { description: 'The Secret\'s name.', type: 'string', minLength: 1, maxLength: 253 },
    key: { description: `The data key (default "${key}").`, type: 'string', minLength: 1, maxLength: 253, default: key },
  },
}) as const satisfies JSONSchemaProps;

const redisProperties = {
  url: {
    description: 'redis://host:port[/db], or rediss:// for TLS. No credentials in the URL: use passwordSecretRef.',
    type: 'string',
    maxLength: 512,
    pattern: '^rediss?://[^/@\\s]+(/[0-9]{1,2})?$',
  },
  username: { description: 'The Redis ACL user; absent means the default user.', type: 'string', minLength: 1, maxLength: 253 },
  passwordSecretRef: secretKeyRef('The Redis password', 'password'),
  caSecretRef: secretKeyRef('The CA bundle (PEM) that signs the Redis server\'s certificate, for rediss:// URLs', 'ca.crt'),
  serverName: { description: 'The name the Redis server\'s certificate must carry, when it differs from the URL\'s host.', type: 'string', minLength: 1, maxLength: 253 },
  failurePolicy: {
    description:
      'What the proxy does while Redis cannot be reached. "FailOpen" (default): each replica applies the same limits alone until ' +
      'Redis answers again. "FailClosed": inference requests get 503 limits_unavailable.',
    type: 'string',
    enum: ['FailOpen', 'FailClosed'],
    default: 'FailOpen',
  },
  timeoutMilliseconds: {
    description: 'How long one Redis operation may take before the failure policy applies (default 250).',
    type: 'integer',
    format: 'int32',
    minimum: 10,
    maximum: 10000,
    default: 250,
  },
} as const satisfies Record<string, JSONSchemaProps>;

/** limitsStoreSchema is `spec.limitsStore`. */
export const limitsStoreSchema = {
  description:
    'Where rate limits and budgets are kept. Absent: in memory, per proxy replica. With redis, every replica and sidecar of the namespace ' +
    'shares them (keys prefixed by the namespace).',
  type: 'object',
  required: ['redis'],
  properties: {
    redis: {
      description: 'A Redis (or compatible) server reachable from the proxy pods.',
      type: 'object',
      required: ['url'],
      properties: redisProperties,
      'x-kubernetes-validations': [
        {
          rule: "self.url.startsWith('rediss://') || (!has(self.caSecretRef) && !has(self.serverName))",
          message: 'caSecretRef and serverName are allowed only with a rediss:// url',
          fieldPath: '.url',
        },
      ],
    },
  },
} as const satisfies JSONSchemaProps;

/** limitsRules are the spec-level rules tying limits to their store. */
export const limitsRules = [
  {
    rule: '!has(self.budgets) || has(self.limitsStore)',
    message: 'limitsStore is required with budgets: a budget kept in each replica\'s memory would be spent once per replica',
    fieldPath: '.limitsStore',
    reason: 'FieldValueRequired',
  },
  {
    rule: '!has(self.rateLimits) || !has(self.rateLimits.__namespace__) || has(self.limitsStore)',
    message: 'limitsStore is required with rateLimits.namespace: a namespace limit is shared through it',
    fieldPath: '.limitsStore',
    reason: 'FieldValueRequired',
  },
] as const;
