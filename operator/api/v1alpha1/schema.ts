import type { JSONSchemaProps } from './json-schema.ts';
import { DNS_LABEL_PATTERN } from './patterns.ts';
import { attestationSchema, HTTP_URL_SCHEMA } from './schema-attestation.ts';
import { proxySchema } from './schema-proxy.ts';
import { statusSchema } from './schema-status.ts';
import { budgetsSchema, limitsRules, limitsStoreSchema } from './schema-limits.ts';
import { callersSchema, modelsSchema, passthroughSchema, pricesSchema, promptCacheSchema, rateLimitsSchema, reservationSchema } from './schema-traffic.ts';
import { TINFOIL_UPSTREAM_URL } from './types.ts';

export { statusSchema } from './schema-status.ts';

const SECRET_NAME = { type: 'string', minLength: 1, maxLength: 253 } as const satisfies JSONSchemaProps;

// Rules that relate fields of different sections sit on the spec; fieldPath points each error at
// the field to change, so `kubectl apply` names it (Kubernetes docs, "Validation rules").
const specRules = [
  {
    rule: "self.provider != 'openai-compatible' || self.acknowledgeUnattested",
    message: 'acknowledgeUnattested must be true when provider is openai-compatible: its upstream is not attested and receives plaintext',
    fieldPath: '.acknowledgeUnattested',
  },
  {
    rule: "self.provider != 'openai-compatible' || (has(self.upstream) && has(self.upstream.url))",
    message: 'upstream.url is required when provider is openai-compatible',
    fieldPath: '.upstream.url',
    reason: 'FieldValueRequired',
  },
  {
    rule: "!has(self.upstream) || !has(self.upstream.url) || !self.upstream.url.startsWith('http://') || self.attestation.trust == 'Development'",
    message: 'upstream.url must use https unless attestation.trust is Development',
    fieldPath: '.upstream.url',
  },
  {
    rule: "!has(self.callers) || !has(self.callers.jwt) || !self.callers.jwt.jwksUrl.startsWith('http://') || self.attestation.trust == 'Development'",
    message: 'callers.jwt.jwksUrl must use https unless attestation.trust is Development',
    fieldPath: '.callers.jwt.jwksUrl',
  },
  {
    rule: "self.provider != 'privatemode' || !has(self.upstream) || !has(self.upstream.url)",
    message: 'upstream.url is not used with provider privatemode: privatemode-proxy in the proxy pod reaches Privatemode itself',
    fieldPath: '.upstream.url',
  },
  {
    rule: "self.provider != 'privatemode' || !has(self.apiKeySecretRefs)",
    message: 'apiKeySecretRefs (a key pool) is not supported with provider privatemode: privatemode-proxy takes one key, set apiKeySecretRef',
    fieldPath: '.apiKeySecretRefs',
  },
  {
    rule: 'has(self.apiKeySecretRef) != has(self.apiKeySecretRefs)',
    message: 'set exactly one of apiKeySecretRef (one provider key) or apiKeySecretRefs (a pool of provider keys)',
    fieldPath: '.apiKeySecretRef',
  },
  ...limitsRules,
] as const;

/** SECRET_KEY_REF_SCHEMA is a key of a Secret in the endpoint's namespace holding a provider API key. */
const SECRET_KEY_REF_SCHEMA = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { description: 'The Secret\'s name.', ...SECRET_NAME },
    key: { description: 'The data key holding the API key (default "api-key").', ...SECRET_NAME, default: 'api-key' },
  },
} as const satisfies JSONSchemaProps;

/** MAX_PROVIDER_KEYS bounds a key pool (the proxy's metrics label keys by index). */
export const MAX_PROVIDER_KEYS = 8;

/** specSchema is `spec`, the desired state of an InferenceEndpoint. */
export const specSchema = {
  description: 'The desired state: which upstream to reach, how to verify it, and how the proxy serves callers in this namespace.',
  type: 'object',
  required: ['provider'],
  properties: {
    provider: {
      description:
        'The kind of upstream. "tinfoil": a Tinfoil enclave, verified before use, request bodies encrypted to its attested key (EHBP). ' +
        '"openai-compatible": any OpenAI-compatible server, NOT attested; requires acknowledgeUnattested and upstream.url. ' +
        '"privatemode": Privatemode, through its own client privatemode-proxy run beside the proxy in each pod (an image the operator ' +
        'is configured with): it attests Privatemode, holds the key (apiKeySecretRef, mounted into that container only) and encrypts; ' +
        'the proxy meters and limits in front of it. Attested reports Delegated. Takes one key and no upstream.url; not injectable as a sidecar.',
      type: 'string',
      enum: ['tinfoil', 'openai-compatible', 'privatemode'],
    },
    upstream: {
      description: 'Where requests go.',
      type: 'object',
      properties: {
        url: {
          description:
            `The upstream's base URL, without /v1 (request paths are appended). Absent for tinfoil means ${TINFOIL_UPSTREAM_URL}; ` +
            'required for openai-compatible. Must be https unless attestation.trust is Development. No credentials, query or fragment.',
          ...HTTP_URL_SCHEMA,
        },
      },
    },
    acknowledgeUnattested: {
      description:
        'Must be true for provider openai-compatible: it says you accept sending plaintext to an upstream that is not attested. ' +
        'Status, metrics and logs then report Unattested. Ignored for tinfoil. Default false.',
      type: 'boolean',
      default: false,
    },
    apiKeySecretRef: {
      description:
        'The provider API key: a key of a Secret in this namespace. It is mounted into the proxy container only, never into applications. ' +
        'Set this or apiKeySecretRefs.',
      ...SECRET_KEY_REF_SCHEMA,
    },
    apiKeySecretRefs: {
      description:
        `A pool of provider API keys (2 to ${String(MAX_PROVIDER_KEYS)}): keys of one Secret or of several, in this namespace, mounted into the proxy container only. ` +
        'Requests are spread over them; a key the upstream refuses (401, 403) or rate-limits (429) is set aside for its Retry-After ' +
        '(a minute for a refusal) and the request goes again on the next key. Metrics name keys by their index in this list. Set this or apiKeySecretRef.',
      type: 'array',
      minItems: 2,
      maxItems: MAX_PROVIDER_KEYS,
      'x-kubernetes-list-type': 'atomic',
      items: SECRET_KEY_REF_SCHEMA,
      'x-kubernetes-validations': [
        {
          rule: 'self.all(a, self.filter(b, b.name == a.name && b.key == a.key).size() == 1)',
          message: 'apiKeySecretRefs must not name the same key of the same Secret twice',
        },
      ],
    },
    attestation: attestationSchema,
    replicas: {
      description: 'How many proxy pods the Deployment runs (default 2, so one can roll or be evicted while the other serves).',
      type: 'integer',
      format: 'int32',
      minimum: 0,
      maximum: 50,
      default: 2,
    },
    models: modelsSchema,
    prices: pricesSchema,
    callers: callersSchema,
    rateLimits: rateLimitsSchema,
    reservation: reservationSchema,
    budgets: budgetsSchema,
    limitsStore: limitsStoreSchema,
    promptCache: promptCacheSchema,
    passthrough: passthroughSchema,
    proxy: proxySchema,
  },
  'x-kubernetes-validations': specRules,
} as const satisfies JSONSchemaProps;

/** inferenceEndpointSchema is the whole resource's OpenAPI v3 schema (`openAPIV3Schema`). */
export const inferenceEndpointSchema = {
  description:
    'InferenceEndpoint runs an attesting, OpenAI-compatible proxy for one upstream (a Tinfoil enclave or an OpenAI-compatible server) ' +
    'in its namespace. The proxy verifies the upstream before sending it anything, holds the provider key so applications never do, ' +
    'meters tokens and cost, and applies rate limits.',
  type: 'object',
  required: ['spec'],
  properties: {
    apiVersion: {
      description: 'The versioned schema of this object: inference.attested.dev/v1alpha1.',
      type: 'string',
    },
    kind: { description: 'The REST resource this object represents: InferenceEndpoint.', type: 'string' },
    metadata: {
      type: 'object',
      properties: {
        name: {
          description: 'The endpoint\'s name, a DNS label of at most 63 characters: it names the proxy\'s Service.',
          type: 'string',
          maxLength: 63,
        },
      },
    },
    spec: specSchema,
    status: statusSchema,
  },
  'x-kubernetes-validations': [
    {
      rule: `self.metadata.name.matches(r'${DNS_LABEL_PATTERN}')`,
      message: 'metadata.name must be a DNS label (lowercase letters, digits and "-", starting with a letter) because it names the proxy\'s Service',
      fieldPath: '.metadata.name',
    },
  ],
} as const satisfies JSONSchemaProps;
