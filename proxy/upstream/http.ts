import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { ProxyError } from '../errors.ts';

/**
 * HTTP transport to the upstream: one keep-alive agent, header hygiene, and the single place where
 * low-level transport failures become typed errors.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) and credentials the caller sent, never forwarded upstream. */
const STRIPPED_REQUEST_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'content-length', 'expect',
  'authorization', 'api-key', 'x-api-key', 'cookie', 'openai-organization', 'openai-project',
]);

/** Hop-by-hop headers of the upstream's answer, never passed to the caller. */
const STRIPPED_RESPONSE_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'set-cookie',
]);

function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const list = Array.isArray(value) ? value.join(',') : value ?? '';
  return new Set(list.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/** forwardableRequestHeaders keeps the caller's end-to-end headers, minus credentials and hop-by-hop ones. */
export function forwardableRequestHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const listed = connectionListed(headers);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || STRIPPED_REQUEST_HEADERS.has(lower) || listed.has(lower)) continue;
    out[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** forwardableResponseHeaders keeps the upstream's end-to-end headers for the caller. */
export function forwardableResponseHeaders(headers: IncomingHttpHeaders, drop: readonly string[] = []): Record<string, string | string[]> {
  const listed = connectionListed(headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || STRIPPED_RESPONSE_HEADERS.has(lower) || listed.has(lower) || drop.includes(lower)) continue;
    out[lower] = value;
  }
  return out;
}

/** UpstreamErrorKind labels transport failures in metrics. */
export type UpstreamErrorKind = 'unreachable' | 'timeout' | 'reset' | 'protocol' | 'status_5xx' | 'key_mismatch';

/** UpstreamError is a transport failure, typed for the caller and for metrics. */
export class UpstreamError extends ProxyError {
  readonly kind: UpstreamErrorKind;

  constructor(kind: UpstreamErrorKind, message: string, cause?: unknown) {
    const code = kind === 'timeout' ? 'upstream_timeout' : kind === 'protocol' || kind === 'key_mismatch' ? 'upstream_protocol_error' : 'upstream_unreachable';
    super(code, message, { cause });
    this.kind = kind;
  }

  /** retriable says whether nothing can have been processed upstream, so one retry after re-attesting is safe. */
  get retriable(): boolean {
    return this.kind === 'unreachable' || this.kind === 'key_mismatch';
  }
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** toUpstreamError maps an undici or socket error to an UpstreamError; the one place that does. */
export function toUpstreamError(error: unknown, what: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (CONNECT_FAILURES.has(code)) return new UpstreamError('unreachable', `could not connect to the upstream for ${what} (${code})`, error);
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError || code === 'ETIMEDOUT') {
    return new UpstreamError('timeout', `the upstream did not answer ${what} in time`, error);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || error instanceof undiciErrors.SocketError) {
    return new UpstreamError('reset', `the upstream connection was reset during ${what}`, error);
  }
  return new UpstreamError('protocol', `the upstream exchange for ${what} failed: ${(error as Error).message}`, error);
}

/** UpstreamResponse is an upstream answer whose body is still streaming. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** trailers is filled in once the body has been read to the end. */
  readonly trailers: Record<string, string | string[] | undefined>;
}

/** UpstreamClient sends requests to one upstream origin. */
export interface UpstreamClient {
  send(request: { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: Buffer; signal?: AbortSignal }): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

/** createUpstreamClient makes a keep-alive client for `baseUrl` (its path prefix is kept). */
export function createUpstreamClient(baseUrl: string, timeouts: { connectTimeoutMs: number; timeoutMs: number }): UpstreamClient {
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/$/, '');
  const agent: Dispatcher = new Agent({
    connect: { timeout: timeouts.connectTimeoutMs },
    headersTimeout: timeouts.timeoutMs,
    bodyTimeout: timeouts.timeoutMs,
    keepAliveTimeout: 30_000,
  });
  return {
    async send(request): Promise<UpstreamResponse> {
      try {
        const response = await agent.request({
          origin: base.origin,
          path: prefix + request.path,
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: request.signal,
        });
        return { status: response.statusCode, headers: response.headers, body: response.body, trailers: response.trailers };
      } catch (error) {
        throw toUpstreamError(error, `${request.method} ${request.path}`);
      }
    },
    close: () => agent.close(),
  };
}
