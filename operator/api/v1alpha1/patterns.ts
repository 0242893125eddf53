/**
 * Patterns shared by the CRD schema (where the API server applies them, with Go's RE2 syntax) and
 * the operator's parsers in values.ts (JavaScript), so both read the same strings the same way.
 * Each is written in the subset both engines agree on.
 */

/** DIGEST_PATTERN is a release digest: 64 lowercase hex digits, as Tinfoil's attestation reports it. */
export const DIGEST_PATTERN = '^[0-9a-f]{64}$';

/**
 * DURATION_PATTERN is a Go duration (`time.ParseDuration`, which CEL's `duration()` uses) such as
 * `30s`, `5m` or `1h30m`. Digit counts are bounded so no accepted string overflows `duration()`.
 */
export const DURATION_PATTERN = '^([0-9]{1,5}(\\.[0-9]{1,3})?(ns|us|µs|ms|s|m|h)){1,3}$';

/**
 * PRICE_PATTERN is a decimal amount of currency with at most 6 decimals (one micro-unit). The
 * integer part is bounded so the amount in micro-units stays an exact JavaScript integer.
 */
export const PRICE_PATTERN = '^(0|[1-9][0-9]{0,8})(\\.[0-9]{1,6})?$';

/** CURRENCY_PATTERN is an ISO 4217 alphabetic code. */
export const CURRENCY_PATTERN = '^[A-Z]{3}$';

/** REPOSITORY_PATTERN is a GitHub repository as `owner/name`; the proxy's configuration uses the same. */
export const REPOSITORY_PATTERN = '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$';

/**
 * HTTP_URL_PATTERN is an absolute http(s) URL without credentials, query or fragment: a base URL
 * that request paths are appended to. Credentials belong in Secrets, never in a spec.
 */
export const HTTP_URL_PATTERN = '^https?://[^\\s/?#@]+(/[^\\s?#]*)?$';

/** PEM_PUBLIC_KEY_PATTERN is one PEM-encoded SubjectPublicKeyInfo block (RFC 7468 §13). */
export const PEM_PUBLIC_KEY_PATTERN = '^\\s*-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\\s]+-----END PUBLIC KEY-----\\s*$';

/** DNS_LABEL_PATTERN is an RFC 1035 label, what a Service name must be. */
export const DNS_LABEL_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

/** CONDITION_REASON_PATTERN is metav1.Condition's reason syntax. */
export const CONDITION_REASON_PATTERN = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

/** CONDITION_TYPE_PATTERN is metav1.Condition's type syntax (an optional DNS-subdomain prefix, then a name). */
export const CONDITION_TYPE_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';

/** QUANTITY_PATTERN is a Kubernetes resource quantity such as `100m`, `128Mi` or `1e3`. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
