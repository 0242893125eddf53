import type { IncomingHttpHeaders } from 'node:http';

/** CallerKind says how a caller was identified. */
export type CallerKind = 'anonymous' | 'serviceaccount' | 'static-key' | 'jwt';

/**
 * Caller is an authenticated caller. `label` is bounded and privacy-preserving, fit for a metric
 * label and a log line: `serviceaccount:<namespace>/<name>`, `key:<key id>`, `anonymous`; never a
 * token or key.
 */
export interface Caller {
  readonly kind: CallerKind;
  readonly label: string;
  /** namespace is the caller's Kubernetes namespace, when known. */
  readonly namespace?: string;
}

/** CallerAuthenticator identifies the caller of one request, or throws ProxyError('invalid_api_key'). */
export interface CallerAuthenticator {
  authenticate(headers: IncomingHttpHeaders): Promise<Caller>;
  close?(): Promise<void>;
}
