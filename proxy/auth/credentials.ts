import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ProxyError } from '../errors.ts';

/**
 * MAX_CREDENTIAL_LENGTH bounds a presented credential. ServiceAccount tokens are about 1 KiB and
 * API keys far less, so anything longer is junk refused before it is hashed or sent to the API
 * server.
 */
export const MAX_CREDENTIAL_LENGTH = 16_384;

// RFC 6750 §2.1: `Bearer` (case-insensitive) then the token; we accept any non-space characters.
const BEARER = /^Bearer +(\S+) *$/i;

/** KEY_HEADERS are the non-Authorization headers SDKs put a key in (Azure OpenAI's `api-key`, Anthropic's `x-api-key`). */
const KEY_HEADERS = ['api-key', 'x-api-key'] as const;

function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value: string | string[] | undefined = headers[name];
  if (Array.isArray(value)) throw new ProxyError('invalid_api_key', `The ${name} header must appear only once.`);
  return value;
}

function bearerToken(authorization: string): string {
  const match = BEARER.exec(authorization);
  if (match?.[1] === undefined) {
    throw new ProxyError('invalid_api_key', 'The Authorization header must have the form "Bearer <key>".');
  }
  return match[1];
}

/**
 * presentedCredential returns the one credential a request carries, from `Authorization: Bearer`,
 * `api-key` or `x-api-key`. It refuses no credential, a malformed one, or different credentials in
 * different headers (which one the caller meant is a guess we do not make). Messages never quote
 * the credential.
 */
export function presentedCredential(headers: IncomingHttpHeaders): string {
  const found = new Set<string>();
  const authorization = singleHeader(headers, 'authorization');
  if (authorization !== undefined) found.add(bearerToken(authorization));
  for (const name of KEY_HEADERS) {
    const value = singleHeader(headers, name)?.trim();
    if (value !== undefined && value !== '') found.add(value);
  }
  if (found.size === 0) {
    throw new ProxyError('invalid_api_key', 'No API key: send "Authorization: Bearer <key>".');
  }
  if (found.size > 1) {
    throw new ProxyError('invalid_api_key', 'The request carries different credentials in Authorization, api-key and x-api-key; send one.');
  }
  const [credential = ''] = found;
  if (credential.length > MAX_CREDENTIAL_LENGTH) {
    throw new ProxyError('invalid_api_key', `The API key is longer than ${MAX_CREDENTIAL_LENGTH} characters.`);
  }
  return credential;
}

/** sha256 is the digest under which credentials are stored and cached, so no plaintext key or token stays in memory. */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
