import type { IncomingHttpHeaders } from 'node:http';

/** CallerKind says how a caller was identified. */
export type CallerKind = 'anonymous' | 'serviceaccount' | 'static-key' | 'jwt';

/**
 * Caller is an authenticated caller. `label` is bounded and privacy-preserving, fit for a metric
 * label and a log line: `serviceaccount:<namespace>/<name>`, `key:<key id>`, `jwt:<bounded claim
 * label>`, `anonymous`; never a token or key.
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

/**
 * AuthLogger is the part of the proxy's logger (pino) the authenticators use. Nothing logged
 * through it carries a token or key: only key ids, counts, file paths and error summaries.
 */
export interface AuthLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** TokenReviewRequest is the TokenReview object sent to, and returned by, the API server. */
export interface TokenReviewRequest {
  spec: { token: string; audiences?: string[] };
  status?: {
    authenticated?: boolean;
    audiences?: string[];
    error?: string;
    user?: { username?: string };
  };
}

/**
 * TokenReviewClient creates TokenReviews; `@kubernetes/client-node`'s AuthenticationV1Api fits,
 * and tests hand in a fake or a counting wrapper.
 */
export interface TokenReviewClient {
  createTokenReview(param: { body: TokenReviewRequest }): Promise<TokenReviewRequest>;
}

/** AuthDeps is what the authenticators need from the process: a clock, a logger and, for `serviceaccount`, a TokenReview client. */
export interface AuthDeps {
  now(): number;
  readonly logger: AuthLogger;
  readonly tokenReview?: TokenReviewClient;
}
