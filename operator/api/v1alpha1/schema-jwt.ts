import { CALLER_VALUE_LENGTH, DEFAULT_JWT_ALGORITHMS, JWT_ALGORITHMS, MAX_JWT_BYTES, OTHER_CALLERS } from '../../../proxy/config/auth-jwt.ts';
import type { JSONSchemaProps } from './json-schema.ts';
import { HTTP_URL_SCHEMA } from './schema-attestation.ts';

const CLAIM_VALUE = { type: 'string', minLength: 1, maxLength: CALLER_VALUE_LENGTH } as const satisfies JSONSchemaProps;

/**
 * jwtCallersSchema is `spec.callers.jwt`: how the proxy verifies callers' JWTs (RFC 7519) against
 * an issuer's JSON Web Key Set, and how it names a caller in metrics, logs and rate limits.
 */
export const jwtCallersSchema = {
  description:
    'JWT callers (required with auth jwt, forbidden otherwise): a bearer JWT signed by the issuer, verified against the issuer\'s ' +
    'JSON Web Key Set (fetched by the proxy, cached, and fetched again, at most every 30s, when a token names an unknown key id).',
  type: 'object',
  required: ['jwksUrl', 'issuer', 'audiences'],
  properties: {
    jwksUrl: {
      description: 'The issuer\'s JSON Web Key Set URL (e.g. https://issuer.example.com/.well-known/jwks.json). Must be https unless attestation.trust is Development.',
      ...HTTP_URL_SCHEMA,
    },
    issuer: { description: 'The exact "iss" claim every token must carry.', type: 'string', minLength: 1, maxLength: 2048 },
    audiences: {
      description: 'A token\'s "aud" claim must name at least one of these.',
      type: 'array',
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'set',
      items: { description: 'A token audience.', type: 'string', minLength: 1, maxLength: 253 },
    },
    algorithms: {
      description: `The signing algorithms accepted (default ${DEFAULT_JWT_ALGORITHMS.join(', ')}). Asymmetric only: "none" and HMAC are never accepted.`,
      type: 'array',
      minItems: 1,
      maxItems: JWT_ALGORITHMS.length,
      'x-kubernetes-list-type': 'set',
      default: [...DEFAULT_JWT_ALGORITHMS],
      items: { description: 'A JWS algorithm (RFC 7518).', type: 'string', enum: [...JWT_ALGORITHMS] },
    },
    clockSkewSeconds: {
      description: 'How far "exp", "nbf" and "iat" may be off the proxy\'s clock, in seconds (default 30, at most 300).',
      type: 'integer',
      minimum: 0,
      maximum: 300,
      default: 30,
    },
    maxTokenAgeSeconds: {
      description: 'When set, tokens issued ("iat") longer ago than this many seconds are refused, whatever their "exp".',
      type: 'integer',
      minimum: 1,
      maximum: 31_536_000,
    },
    maxTokenBytes: {
      description: `Longer tokens are refused before they are parsed (default 8192, at most ${MAX_JWT_BYTES}).`,
      type: 'integer',
      minimum: 512,
      maximum: MAX_JWT_BYTES,
      default: 8192,
    },
    callerClaim: {
      description: 'The claim that names the caller (default sub); a token without it is refused.',
      type: 'string',
      minLength: 1,
      maxLength: 253,
      default: 'sub',
    },
    callerLabel: {
      description:
        'How a caller is labelled in metrics, logs and rate limits (default hash). "hash": jwt:<first 12 hex digits of the claim\'s SHA-256>. ' +
        '"allow-list": jwt:<claim>, for the values in allowedCallers (required then), the only callers admitted.',
      type: 'string',
      enum: ['hash', 'allow-list'],
      default: 'hash',
    },
    allowedCallers: {
      description:
        'When set, the only caller claim values admitted; any other verified caller is refused with 403 permission_denied. ' +
        'Required with callerLabel allow-list, where they are also the labels.',
      type: 'array',
      maxItems: 256,
      'x-kubernetes-list-type': 'set',
      items: {
        description: 'A value of the caller claim.',
        ...CLAIM_VALUE,
        'x-kubernetes-validations': [{ rule: `self != '${OTHER_CALLERS}'`, message: `must not be "${OTHER_CALLERS}", a reserved label value` }],
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: "self.callerLabel != 'allow-list' || (has(self.allowedCallers) && size(self.allowedCallers) > 0)",
      message: 'allowedCallers must name at least one caller when callerLabel is allow-list',
      fieldPath: '.allowedCallers',
      reason: 'FieldValueRequired',
    },
  ],
} as const satisfies JSONSchemaProps;
