/**
 * The proxy's error catalogue: every error a caller can receive, with its HTTP status, its
 * OpenAI error `type` and a stable `code`. Bodies follow OpenAI's shape
 * `{ "error": { "message", "type", "param", "code" } }` so every OpenAI SDK surfaces them.
 */
export const ERRORS = {
  invalid_json: { status: 400, type: 'invalid_request_error', summary: 'The request body is not valid JSON.' },
  invalid_request: { status: 400, type: 'invalid_request_error', summary: 'The request is malformed (a field is missing or has the wrong type).' },
  invalid_type: { status: 400, type: 'invalid_request_error', summary: 'A field the proxy acts on has the wrong type (`stream` not a boolean, `stream_options` not an object); `param` names it.' },
  duplicate_field: { status: 400, type: 'invalid_request_error', summary: 'The body names a field twice (a JSON key exactly or differing only in case, or a second `model` in a form), which the upstream could read differently from the proxy; `param` names it.' },
  too_many_form_parts: { status: 400, type: 'invalid_request_error', summary: 'A multipart form has more fields or parts than the proxy reads, so it could not check all of them.' },
  model_not_priced: { status: 400, type: 'invalid_request_error', summary: 'The endpoint enforces spend budgets but has no price for the model (and no default price), so it cannot charge the request.' },
  model_not_found: { status: 404, type: 'invalid_request_error', summary: 'The model is not offered by this endpoint (not on its allow-list).' },
  not_found: { status: 404, type: 'invalid_request_error', summary: 'No such route on this endpoint.' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', summary: 'The route exists but not for this HTTP method.' },
  body_too_large: { status: 413, type: 'invalid_request_error', summary: 'The request body exceeds the configured size limit.' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', summary: 'The request body has a content type this route does not accept.' },
  invalid_api_key: { status: 401, type: 'invalid_request_error', summary: 'The caller presented no credential, or one that does not verify.' },
  permission_denied: { status: 403, type: 'invalid_request_error', summary: 'The caller is known but not allowed to use this endpoint.' },
  passthrough_not_allowed: { status: 403, type: 'invalid_request_error', summary: 'Client-encrypted (EHBP) requests are not allowed on this endpoint.' },
  rate_limit_exceeded: { status: 429, type: 'requests', summary: 'A per-caller request or token rate limit is exhausted; retry after Retry-After seconds.' },
  insufficient_quota: { status: 429, type: 'insufficient_quota', summary: 'A daily or monthly spend budget (the caller\'s or the namespace\'s) is used up; the message and Retry-After say when it resets.' },
  limits_unavailable: { status: 503, type: 'server_error', summary: 'The shared limits store (Redis) cannot be reached and the endpoint fails closed; nothing was sent.' },
  attestation_pending: { status: 503, type: 'server_error', summary: 'The upstream enclave has not been verified yet; nothing was sent.' },
  attestation_expired: { status: 503, type: 'server_error', summary: 'The upstream\'s verified attestation has expired and no fresh verification has succeeded yet; nothing was sent.' },
  attestation_failed: { status: 503, type: 'server_error', summary: 'The upstream enclave failed verification (or its release is not the pinned one); nothing was sent.' },
  provider_key_missing: { status: 503, type: 'server_error', summary: 'The provider API key file is missing or empty; nothing was sent.' },
  auth_unavailable: { status: 503, type: 'server_error', summary: 'The caller could not be checked (the Kubernetes API server did not answer the TokenReview, or the JWT issuer\'s key set could not be fetched); retry.' },
  upstream_unreachable: { status: 502, type: 'server_error', summary: 'The upstream could not be reached (connection refused, reset or DNS failure).' },
  upstream_protocol_error: { status: 502, type: 'server_error', summary: 'The upstream answered in a way that breaks the protocol (e.g. plaintext to an encrypted request, or a body that fails decryption).' },
  upstream_timeout: { status: 504, type: 'server_error', summary: 'The upstream did not answer within the configured timeout.' },
  internal_error: { status: 500, type: 'server_error', summary: 'An unexpected error inside the proxy.' },
} as const satisfies Record<string, { status: number; type: string; summary: string }>;

/** ErrorCode names one entry of the catalogue. */
export type ErrorCode = keyof typeof ERRORS;

/** OpenAIErrorBody is the JSON body of every error response. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: ErrorCode };
}

/** ProxyError is a catalogued error with a caller-facing message and optional extra headers. */
export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message?: string, options: { param?: string; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message ?? ERRORS[code].summary, { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: ERRORS[this.code].type, param: this.param, code: this.code } };
  }
}
