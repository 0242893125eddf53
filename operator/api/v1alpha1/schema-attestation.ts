import { defaultsOf, type JSONSchemaProps } from './json-schema.ts';
import { DIGEST_PATTERN, DURATION_PATTERN, HTTP_URL_PATTERN, PEM_PUBLIC_KEY_PATTERN, REPOSITORY_PATTERN } from './patterns.ts';

/** MIN_RECHECK is the shortest `spec.attestation.recheckInterval`, to spare the attestation service. */
export const MIN_RECHECK = '10s';
/** MAX_RECHECK is the longest `spec.attestation.recheckInterval`, so a changed release is noticed within a day. */
export const MAX_RECHECK = '24h';

/** DEFAULT_FIRST_VERIFICATION_WINDOW is the proxy's own default (proxy/config/schema.ts, 60 s). */
export const DEFAULT_FIRST_VERIFICATION_WINDOW = '60s';
/**
 * MAX_FIRST_VERIFICATION_WINDOW bounds `spec.attestation.firstVerificationWindow` well inside a
 * Deployment's default progressDeadlineSeconds (600): a pod that waits the whole window still
 * turns ready before the rollout is reported as stalled.
 */
export const MAX_FIRST_VERIFICATION_WINDOW = '5m';

/** HTTP_URL_SCHEMA is an absolute http(s) base URL, checked by pattern and by CEL's URL parser; add a description. */
export const HTTP_URL_SCHEMA = {
  type: 'string',
  maxLength: 2048,
  pattern: HTTP_URL_PATTERN,
  'x-kubernetes-validations': [
    { rule: "isURL(self) && url(self).getHostname() != ''", message: 'must be an absolute http or https URL with a host' },
  ],
} as const satisfies JSONSchemaProps;

const recheckInterval = {
  description:
    `How often the operator verifies the upstream again, as a Go duration such as "30s", "5m" or "1h30m". ` +
    `Default 5m; at least ${MIN_RECHECK} and at most ${MAX_RECHECK}. Every proxy also re-verifies on this interval, on a key mismatch and on reconnect.`,
  type: 'string',
  default: '5m',
  maxLength: 32,
  pattern: DURATION_PATTERN,
  'x-kubernetes-validations': [
    {
      // The guard keeps duration() from failing on a string the pattern already refused; the API
      // server still runs CEL when a pattern fails (only type and enum errors stop it).
      rule: `!self.matches(r'${DURATION_PATTERN}') || (duration(self) >= duration('${MIN_RECHECK}') && duration(self) <= duration('${MAX_RECHECK}'))`,
      message: `recheckInterval must be at least ${MIN_RECHECK} and at most ${MAX_RECHECK}`,
    },
  ],
} as const satisfies JSONSchemaProps;

const firstVerificationWindow = {
  description:
    'How long a new proxy (a Deployment pod or an injected sidecar) stays unready while it has not yet verified the upstream, ' +
    `as a Go duration such as "60s" or "2m". Default ${DEFAULT_FIRST_VERIFICATION_WINDOW}; at most ${MAX_FIRST_VERIFICATION_WINDOW}; "0s" makes it ready at once. ` +
    'A rollout keeps the verified pods until the new ones verified, and a sidecar\'s app starts only after the sidecar verified. ' +
    'Past the window the proxy turns ready anyway and answers every inference request with a 503 (attestation_pending or attestation_failed), ' +
    'so a new endpoint during a provider outage gives callers a clear error. Once verified, a failed recheck never makes a proxy unready.',
  type: 'string',
  default: DEFAULT_FIRST_VERIFICATION_WINDOW,
  maxLength: 32,
  pattern: DURATION_PATTERN,
  'x-kubernetes-validations': [
    {
      // Guarded like recheckInterval's rule: duration() must not see a string the pattern refused.
      rule: `!self.matches(r'${DURATION_PATTERN}') || duration(self) <= duration('${MAX_FIRST_VERIFICATION_WINDOW}')`,
      message: `firstVerificationWindow must be at most ${MAX_FIRST_VERIFICATION_WINDOW}`,
    },
  ],
} as const satisfies JSONSchemaProps;

const properties = {
  trust: {
    description:
      'What an attestation must be rooted in. "Verified" (default): the enclave\'s hardware attestation and the ' +
      'Sigstore-signed release of configRepo. "Development": a development signing key (developmentPublicKey), ' +
      'for the enclave simulator only; the operator honours it only when started with --allow-development-trust, ' +
      'and only this mode allows plain-http URLs.',
    type: 'string',
    enum: ['Verified', 'Development'],
    default: 'Verified',
  },
  configRepo: {
    description:
      'The GitHub repository (owner/name) whose signed releases the enclave must be running ' +
      '(default tinfoilsh/confidential-model-router, the Tinfoil model router).',
    type: 'string',
    default: 'tinfoilsh/confidential-model-router',
    maxLength: 140,
    pattern: REPOSITORY_PATTERN,
  },
  bundleUrl: {
    description: 'Where the attestation bundle is fetched from (default https://atc.tinfoil.sh, Tinfoil\'s attestation cache). Must be https unless trust is Development.',
    ...HTTP_URL_SCHEMA,
    default: 'https://atc.tinfoil.sh',
  },
  developmentPublicKey: {
    description:
      'The development signing key, a PEM-encoded Ed25519 public key ("-----BEGIN PUBLIC KEY-----"). ' +
      'Required when trust is Development and forbidden otherwise.',
    type: 'string',
    maxLength: 4096,
    pattern: PEM_PUBLIC_KEY_PATTERN,
  },
  policy: {
    description:
      'Which verified releases the proxies accept. "Follow" (default): any release that verifies against configRepo; ' +
      'when the release changes the operator rolls the proxy pods, so the change shows in `kubectl rollout history`. ' +
      '"Pin": only the releases listed in pinnedDigests; any other release is refused and pods are not rolled until the pin is updated.',
    type: 'string',
    enum: ['Follow', 'Pin'],
    default: 'Follow',
  },
  pinnedDigests: {
    description:
      'The release digests (64 lowercase hex digits each) accepted when policy is Pin. Required and non-empty with Pin, forbidden with Follow ' +
      '(a pin that is silently not enforced would mislead).',
    type: 'array',
    maxItems: 16,
    'x-kubernetes-list-type': 'set',
    items: { description: 'A release digest: 64 lowercase hex digits.', type: 'string', pattern: DIGEST_PATTERN },
  },
  recheckInterval,
  firstVerificationWindow,
} as const satisfies Record<string, JSONSchemaProps>;

/** attestationSchema is `spec.attestation`: how the upstream is verified and which releases count. */
export const attestationSchema = {
  description:
    'How the proxies and the operator verify the upstream before any inference request reaches it. ' +
    'Used by the tinfoil provider; an openai-compatible upstream is not attested and ignores this section.',
  type: 'object',
  default: defaultsOf(properties),
  properties,
  'x-kubernetes-validations': [
    {
      rule: "self.trust != 'Development' || has(self.developmentPublicKey)",
      message: 'developmentPublicKey is required when trust is Development',
      fieldPath: '.developmentPublicKey',
      reason: 'FieldValueRequired',
    },
    {
      rule: "self.trust == 'Development' || !has(self.developmentPublicKey)",
      message: 'developmentPublicKey is allowed only when trust is Development',
      fieldPath: '.developmentPublicKey',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "self.policy != 'Pin' || (has(self.pinnedDigests) && size(self.pinnedDigests) > 0)",
      message: 'pinnedDigests must list at least one release digest when policy is Pin',
      fieldPath: '.pinnedDigests',
      reason: 'FieldValueRequired',
    },
    {
      rule: "self.policy == 'Pin' || !has(self.pinnedDigests) || size(self.pinnedDigests) == 0",
      message: 'pinnedDigests is set but policy is Follow; set policy: Pin to enforce the pins',
      fieldPath: '.pinnedDigests',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "!self.bundleUrl.startsWith('http://') || self.trust == 'Development'",
      message: 'bundleUrl must use https unless trust is Development',
      fieldPath: '.bundleUrl',
    },
  ],
} as const satisfies JSONSchemaProps;
