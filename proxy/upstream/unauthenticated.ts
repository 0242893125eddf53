import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { discard, peekBody } from './bounded.ts';
import { toUpstreamError, type UpstreamResponse } from './http.ts';
import type { ProviderResponse } from './provider.ts';

/**
 * Unauthenticated upstream errors. The EHBP spec (§5.3, mode detection, and §5.1, inbound
 * response) lets a client pass a non-2xx answer that lacks `Ehbp-Response-Nonce` on to its caller
 * as an unauthenticated plaintext error: such answers come from intermediaries (Tinfoil's router
 * refusing a key with 401, or rate-limiting it with 429) that reject a request before the enclave
 * sees it, so there is no HPKE context to seal them under. Nothing vouches for them — an on-path
 * party can forge one — so the proxy relays only what a caller needs to react (the status, the
 * retry and rate-limit headers, a bounded message) and marks the answer unauthenticated. A 2xx
 * answer never takes this path: it must be encrypted (§5.4.1 counts a missing nonce on a 2xx as a
 * protocol failure), so an un-nonced success still fails closed.
 */

/** UNAUTHENTICATED_HEADER marks an answer relayed without EHBP authentication (value `true`). */
export const UNAUTHENTICATED_HEADER = 'x-attested-inference-unauthenticated';
/** MAX_UNAUTHENTICATED_BODY_BYTES bounds what is read of an unauthenticated error body; the rest is discarded unread. */
export const MAX_UNAUTHENTICATED_BODY_BYTES = 64 * 1024;
/** UNAUTHENTICATED_ERROR_CODE is the `code` of an unauthenticated error whose body names none. */
export const UNAUTHENTICATED_ERROR_CODE = 'upstream_unauthenticated_error';
/** MAX_MESSAGE_CHARS bounds the relayed message; MAX_FIELD_CHARS the relayed `type`, `code` and `param`. */
const MAX_MESSAGE_CHARS = 2048;
const MAX_FIELD_CHARS = 128;
/** KEPT_HEADER names the headers a caller's retry logic reads (OpenAI's SDKs: Retry-After, retry-after-ms, x-ratelimit-*). */
const KEPT_HEADER = /^(?:retry-after|retry-after-ms|x-ratelimit-[a-z0-9-]+)$/;
/** CONTROL_CHARACTERS are C0, DEL and C1 (Unicode category Cc), flattened to a space in what is relayed. */
const CONTROL_CHARACTERS = /\p{Cc}+/gu;

/** isSuccess tells a 2xx status, the only kind EHBP never lets pass unencrypted. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** UpstreamErrorObject is the OpenAI error object an unauthenticated error is relayed as. */
export interface UpstreamErrorObject {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null };
}

function clip(text: string, max: number): string {
  const flat = text.replace(CONTROL_CHARACTERS, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function field(value: unknown): string | null | undefined {
  if (value === null) return null;
  return typeof value === 'string' ? clip(value, MAX_FIELD_CHARS) : undefined;
}

function parsed(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** openAIError reads `{ error: { message, type?, code?, param? } }`, the shape OpenAI-compatible servers answer errors in. */
function openAIError(value: unknown, status: number): UpstreamErrorObject | undefined {
  const error = (value as { error?: unknown } | null | undefined)?.error as Record<string, unknown> | null | undefined;
  if (typeof error !== 'object' || error === null || typeof error.message !== 'string') return undefined;
  const code = field(error.code);
  return {
    error: {
      message: clip(error.message, MAX_MESSAGE_CHARS),
      type: field(error.type) ?? fallbackType(status),
      param: field(error.param) ?? null,
      code: code === undefined ? UNAUTHENTICATED_ERROR_CODE : code,
    },
  };
}

function fallbackType(status: number): string {
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** detail is the diagnostic text of a body that is no OpenAI error object: a JSON `error`/`message` string, else the text itself. */
function detail(bytes: Buffer, value: unknown): string {
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const named = [record.error, record.message].find((v): v is string => typeof v === 'string');
  return named ?? bytes.toString('utf8');
}

/**
 * unauthenticatedErrorBody turns what was read of an un-nonced error body (at most the bound;
 * `cut` when the body was longer) into an OpenAI error object: an OpenAI error object keeps its
 * message, type, code and param (clipped); anything else is wrapped, its text kept as a clipped
 * diagnostic. Control characters are flattened so a forged body cannot shape the caller's logs.
 */
export function unauthenticatedErrorBody(status: number, bytes: Buffer, cut: boolean): UpstreamErrorObject {
  const value = cut ? undefined : parsed(bytes);
  const kept = openAIError(value, status);
  if (kept !== undefined) return kept;
  const text = clip(detail(bytes, value), MAX_MESSAGE_CHARS - 200);
  const said = text === '' ? '' : `: ${text}${cut ? ` (cut at ${String(MAX_UNAUTHENTICATED_BODY_BYTES)} bytes)` : ''}`;
  return {
    error: {
      message: `The upstream answered HTTP ${String(status)} without EHBP encryption; this error is unauthenticated${said}`,
      type: fallbackType(status),
      param: null,
      code: UNAUTHENTICATED_ERROR_CODE,
    },
  };
}

/** keptHeaders are the retry and rate-limit headers of an unauthenticated error; every other header is dropped. */
export function keptHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value !== undefined && KEPT_HEADER.test(lower)) out[lower] = value;
  }
  return out;
}

/**
 * unauthenticatedError relays an un-nonced non-2xx answer to an encrypted request. At most
 * MAX_UNAUTHENTICATED_BODY_BYTES of its body are read; a longer body is cut and the upstream
 * stream destroyed, so a hostile answer cannot make the proxy read or hold more. The framing
 * headers of the upstream body (Content-Length, Content-Encoding, …) describe bytes the caller
 * never gets, so none are kept: the caller's body is the error object the proxy writes.
 */
export async function unauthenticatedError(response: UpstreamResponse, path: string, releaseDigest: string): Promise<ProviderResponse> {
  const peeked = await peekBody(response.body, MAX_UNAUTHENTICATED_BODY_BYTES).catch((error: unknown) => {
    throw toUpstreamError(error, path);
  });
  if (!peeked.complete) {
    discard(peeked.body);
    discard(response.body);
  }
  const head = peeked.complete ? peeked.head : peeked.head.subarray(0, MAX_UNAUTHENTICATED_BODY_BYTES);
  const body = Buffer.from(JSON.stringify(unauthenticatedErrorBody(response.status, head, !peeked.complete)));
  return {
    mode: 'encrypted',
    status: response.status,
    headers: { ...keptHeaders(response.headers), 'content-type': 'application/json', [UNAUTHENTICATED_HEADER]: 'true' },
    body: Readable.from([body], { objectMode: false }),
    announcedTrailers: [],
    trailers: () => ({}),
    releaseDigest,
    unauthenticated: true,
  };
}
