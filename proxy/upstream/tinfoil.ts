import type { AttestationManager } from '../attestation/manager.ts';
import { DecryptingStream, ENCAPSULATED_KEY_HEADER, RESPONSE_NONCE_HEADER, responseKeys, type SealedRequest } from '../ehbp/client.ts';
import { ProxyError } from '../errors.ts';
import { TINFOIL_REQUEST_USAGE_HEADER } from '../metering/tinfoil-usage.ts';
import { forwardableResponseHeaders, toUpstreamError, UpstreamError, type UpstreamClient, type UpstreamResponse } from './http.ts';
import { discard, peekBody, readBounded } from './bounded.ts';
import { sendWithKeys, type KeyPool, type PooledKey } from './key-pool.ts';
import { isSuccess, unauthenticatedError } from './unauthenticated.ts';
import { plainResponse, type KeyConfiguration, type Provider, type ProviderRequest, type ProviderResponse } from './provider.ts';

const KEY_CONFIG_PROBLEM = 'urn:ietf:params:ehbp:error:key-config';
/** MAX_PROBLEM_BYTES bounds what is read of a 422 to learn its problem type; a problem document is far smaller. */
const MAX_PROBLEM_BYTES = 16 * 1024;
/** MAX_KEY_CONFIG_BYTES bounds a relayed key configuration (RFC 9458 §3: one config is under 100 bytes per key). */
export const MAX_KEY_CONFIG_BYTES = 64 * 1024;
/** KEY_CONFIG_TIMEOUT_MS bounds fetching the key configuration, which a caller can ask for. */
const KEY_CONFIG_TIMEOUT_MS = 10_000;

/** TinfoilProviderDeps: the upstream client, the attestation that gates it, and the provider keys. */
export interface TinfoilProviderDeps {
  readonly client: UpstreamClient;
  readonly attestation: AttestationManager;
  readonly keys: KeyPool;
  readonly onRetry?: (reason: string) => void;
}

function authHeaders(key: PooledKey | undefined): Record<string, string> {
  if (key === undefined) throw new ProxyError('provider_key_missing', 'the provider API key file is missing or empty; nothing was sent');
  return { authorization: `Bearer ${key.value}`, [TINFOIL_REQUEST_USAGE_HEADER.toLowerCase()]: 'true' };
}

/**
 * keyProblem tells whether an answer is the EHBP key-configuration problem (a 422 problem document
 * of that type, SPEC §5.4.2), reading at most MAX_PROBLEM_BYTES of it. Any other answer, a larger
 * one included, is not; the answer returned replays what was read, so it can still be relayed.
 */
async function keyProblem(response: UpstreamResponse): Promise<{ stale: boolean; response: UpstreamResponse }> {
  if (response.status !== 422 || !(response.headers['content-type'] ?? '').includes('problem+json')) return { stale: false, response };
  const peeked = await peekBody(response.body, MAX_PROBLEM_BYTES);
  const replayed = { ...response, body: peeked.body };
  if (!peeked.complete) return { stale: false, response: replayed };
  try {
    return { stale: (JSON.parse(peeked.head.toString('utf8')) as { type?: string } | null)?.type === KEY_CONFIG_PROBLEM, response: replayed };
  } catch {
    return { stale: false, response: replayed };
  }
}

/** fetchKeyConfiguration reads the upstream's key configuration within KEY_CONFIG_TIMEOUT_MS and MAX_KEY_CONFIG_BYTES. */
async function fetchKeyConfiguration(client: UpstreamClient): Promise<KeyConfiguration> {
  const response = await client.send({ method: 'GET', path: '/.well-known/hpke-keys', headers: {}, signal: AbortSignal.timeout(KEY_CONFIG_TIMEOUT_MS) });
  if (response.status !== 200) {
    discard(response.body);
    throw new UpstreamError('protocol', `the upstream answered HTTP ${String(response.status)} for its key configuration`);
  }
  const body = await readBounded(response.body, MAX_KEY_CONFIG_BYTES).catch((error: unknown) => {
    throw toUpstreamError(error, 'GET /.well-known/hpke-keys');
  });
  if (body === undefined) throw new UpstreamError('protocol', `the upstream key configuration exceeds ${String(MAX_KEY_CONFIG_BYTES)} bytes; nothing was relayed`);
  const type = response.headers['content-type'];
  return { body, contentType: typeof type === 'string' ? type : undefined };
}

/** decrypted hands an encrypted answer to the caller as plaintext, opened frame by frame as it streams. */
function decrypted(response: UpstreamResponse, keys: ReturnType<typeof responseKeys>, path: string, releaseDigest: string): ProviderResponse {
  const body = response.body.pipe(new DecryptingStream(keys));
  response.body.on('error', (error) => body.destroy(toUpstreamError(error, path)));
  return {
    mode: 'encrypted',
    status: response.status,
    headers: forwardableResponseHeaders(response.headers, ['content-length', RESPONSE_NONCE_HEADER.toLowerCase()]),
    body,
    announcedTrailers: [],
    trailers: () => response.trailers,
    releaseDigest,
  };
}

/**
 * createTinfoilProvider sends requests to an attested Tinfoil enclave. Plaintext bodies are sealed
 * to the attested HPKE key and responses opened as they stream; client-sealed bodies pass through
 * untouched. Nothing is sent while attestation is pending or failed. A stale key (422 key-config)
 * or a refused connection triggers one re-attestation and one retry, since neither can have been
 * processed by the enclave.
 */
export function createTinfoilProvider(deps: TinfoilProviderDeps): Provider {
  const sealed = async (request: ProviderRequest, key: PooledKey | undefined): Promise<ProviderResponse> => {
    const { recipient, result } = deps.attestation.require();
    const seal: SealedRequest | undefined = request.body && request.body.length > 0 ? recipient.seal(request.body) : undefined;
    const headers = { ...request.headers, ...authHeaders(key) };
    if (seal) headers[ENCAPSULATED_KEY_HEADER.toLowerCase()] = seal.encapsulatedKeyHex;
    const { stale, response } = await keyProblem(await deps.client.send({ method: request.method, path: request.path, headers, body: seal?.body, signal: request.signal }));
    if (stale) {
      response.body.destroy();
      throw new UpstreamError('key_mismatch', 'the enclave no longer holds the attested HPKE key');
    }
    if (!seal) return plainResponse(response, 'encrypted', result.releaseDigest);
    const nonce = response.headers[RESPONSE_NONCE_HEADER.toLowerCase()];
    if (typeof nonce === 'string') return decrypted(response, responseKeys(seal, nonce), request.path, result.releaseDigest);
    // EHBP §5.3: an un-nonced non-2xx answer may pass as an unauthenticated error; a 2xx must not.
    if (!isSuccess(response.status)) return unauthenticatedError(response, request.path, result.releaseDigest);
    discard(response.body);
    throw new UpstreamError('protocol', `the upstream answered HTTP ${String(response.status)} to an encrypted request without encrypting it; the answer was dropped`);
  };

  const passthrough = async (request: ProviderRequest, key: PooledKey | undefined): Promise<ProviderResponse> => {
    const { result } = deps.attestation.require();
    const headers = { ...request.headers, ...authHeaders(key) };
    // Only the key-configuration problem says the attested key may be stale; the on-demand rate
    // bound keeps a caller sending junk from making the proxy hammer the attestation service.
    const { stale, response } = await keyProblem(await deps.client.send({ method: request.method, path: request.path, headers, body: request.body, signal: request.signal }));
    if (stale) void deps.attestation.reattestOnDemand('a client-sealed request met a stale key');
    return plainResponse(response, 'passthrough', result.releaseDigest);
  };

  // One attempt with one key. A client-sealed body goes again byte for byte on another key: a 401
  // or 429 comes from the router, before the enclave, so it was never opened.
  const attempt = async (request: ProviderRequest, key: PooledKey | undefined): Promise<ProviderResponse> => {
    if (request.passthrough) return passthrough(request, key);
    try {
      return await sealed(request, key);
    } catch (error) {
      if (!(error instanceof UpstreamError) || !error.retriable || request.signal.aborted) throw error;
      deps.onRetry?.(error.kind);
      await deps.attestation.reattestOnDemand(error.kind);
      return sealed(request, key);
    }
  };

  return {
    kind: 'tinfoil',
    keyConfiguration: () => fetchKeyConfiguration(deps.client),
    attested: true,
    attestation: () => deps.attestation.state(),
    start: () => {
      deps.attestation.start();
    },
    close: async () => {
      deps.attestation.stop();
      await deps.client.close();
    },
    send: (request: ProviderRequest): Promise<ProviderResponse> => sendWithKeys(deps.keys, request.signal, (key) => attempt(request, key)),
  };
}
