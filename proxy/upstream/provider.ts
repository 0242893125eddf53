import type { Readable } from 'node:stream';
import type { AttestationState } from '../attestation/manager.ts';
import { forwardableResponseHeaders, type UpstreamResponse } from './http.ts';

/** RequestMode says what the proxy did with a request body: sealed it, passed a client-sealed one, or sent plaintext. */
export type RequestMode = 'encrypted' | 'passthrough' | 'plain';

/** ProviderRequest is one request on its way upstream. */
export interface ProviderRequest {
  readonly method: 'GET' | 'POST';
  /** path is the upstream path, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** headers are the caller's end-to-end headers (credentials and hop-by-hop ones already removed). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** passthrough: the body is already EHBP-encrypted by the caller and is sent byte for byte. */
  readonly passthrough: boolean;
  readonly signal: AbortSignal;
}

/** ProviderResponse is the upstream's answer, its body readable as the caller should receive it. */
export interface ProviderResponse {
  readonly mode: RequestMode;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Readable;
  /** announcedTrailers names the trailers the upstream declared (its `Trailer` header), lower-case. */
  readonly announcedTrailers: readonly string[];
  /** trailers returns the upstream's trailers once `body` has ended. */
  readonly trailers: () => Readonly<Record<string, string | string[] | undefined>>;
  /** releaseDigest names the attested release the request went to, when attested. */
  readonly releaseDigest?: string;
  /** unauthenticated marks an un-nonced error answer to an encrypted request, relayed without EHBP's authentication (unauthenticated.ts). */
  readonly unauthenticated?: boolean;
}

/**
 * Provider is an upstream kind behind one interface: Tinfoil (attested, EHBP), OpenAI-compatible
 * (plain, unattested), Privatemode (plain to privatemode-proxy in the pod, which attests and encrypts).
 */
export interface Provider {
  readonly kind: 'tinfoil' | 'openai-compatible' | 'privatemode';
  readonly attested: boolean;
  send(request: ProviderRequest): Promise<ProviderResponse>;
  /** attestation is the current attestation state; `unattested` without attestation, `delegated` when another process attests. */
  attestation(): AttestationState | { readonly status: 'unattested' } | { readonly status: 'delegated' };
  /** keyConfiguration fetches the upstream's HPKE key configuration (attested providers only), bounded in time and size. */
  keyConfiguration?(): Promise<KeyConfiguration>;
  start(): void;
  close(): Promise<void>;
}

/** KeyConfiguration is an upstream's `/.well-known/hpke-keys` answer (RFC 9458 §3), not yet checked against the attested key. */
export interface KeyConfiguration {
  readonly body: Buffer;
  readonly contentType: string | undefined;
}

/** plainResponse hands an upstream answer to the caller as it is (plaintext or client-sealed), minus hop-by-hop headers. */
export function plainResponse(response: UpstreamResponse, mode: RequestMode, releaseDigest?: string): ProviderResponse {
  return {
    mode,
    status: response.status,
    headers: forwardableResponseHeaders(response.headers),
    body: response.body,
    announcedTrailers: announcedTrailers(response),
    trailers: () => response.trailers,
    ...(releaseDigest !== undefined ? { releaseDigest } : {}),
  };
}

/** announcedTrailers lists the trailer names an upstream response declares in its `Trailer` header. */
export function announcedTrailers(response: UpstreamResponse): string[] {
  const value = response.headers.trailer;
  const list = Array.isArray(value) ? value.join(',') : value ?? '';
  return list.split(',').map((n) => n.trim().toLowerCase()).filter(Boolean);
}
