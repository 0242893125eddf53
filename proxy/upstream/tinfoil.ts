import type { AttestationManager } from '../attestation/manager.ts';
import { DecryptingStream, ENCAPSULATED_KEY_HEADER, RESPONSE_NONCE_HEADER, responseKeys, type SealedRequest } from '../ehbp/client.ts';
import { ProxyError } from '../errors.ts';
import { TINFOIL_REQUEST_USAGE_HEADER } from '../metering/tinfoil-usage.ts';
import { forwardableResponseHeaders, toUpstreamError, UpstreamError, type UpstreamClient, type UpstreamResponse } from './http.ts';
import { plainResponse, type Provider, type ProviderRequest, type ProviderResponse } from './provider.ts';

const KEY_CONFIG_PROBLEM = 'urn:ietf:params:ehbp:error:key-config';

/** TinfoilProviderDeps: the upstream client, the attestation that gates it, and the provider key. */
export interface TinfoilProviderDeps {
  readonly client: UpstreamClient;
  readonly attestation: AttestationManager;
  readonly apiKey: () => string | undefined;
  readonly onRetry?: (reason: string) => void;
}

function authHeaders(apiKey: () => string | undefined): Record<string, string> {
  const key = apiKey();
  if (key === undefined || key === '') throw new ProxyError('provider_key_missing', 'the provider API key file is missing or empty; nothing was sent');
  return { authorization: `Bearer ${key}`, [TINFOIL_REQUEST_USAGE_HEADER.toLowerCase()]: 'true' };
}

async function isKeyMismatch(response: UpstreamResponse): Promise<boolean> {
  if (response.status !== 422) return false;
  const type = response.headers['content-type'] ?? '';
  if (!type.includes('problem+json')) return false;
  const text = await response.body.setEncoding('utf8').toArray().then((parts) => parts.join(''));
  try {
    return (JSON.parse(text) as { type?: string }).type === KEY_CONFIG_PROBLEM;
  } catch {
    return false;
  }
}

/**
 * createTinfoilProvider sends requests to an attested Tinfoil enclave. Plaintext bodies are sealed
 * to the attested HPKE key and responses opened as they stream; client-sealed bodies pass through
 * untouched. Nothing is sent while attestation is pending or failed. A stale key (422 key-config)
 * or a refused connection triggers one re-attestation and one retry, since neither can have been
 * processed by the enclave.
 */
export function createTinfoilProvider(deps: TinfoilProviderDeps): Provider {
  const sealed = async (request: ProviderRequest): Promise<ProviderResponse> => {
    const { recipient, result } = deps.attestation.require();
    const seal: SealedRequest | undefined = request.body && request.body.length > 0 ? recipient.seal(request.body) : undefined;
    const headers = { ...request.headers, ...authHeaders(deps.apiKey) };
    if (seal) headers[ENCAPSULATED_KEY_HEADER.toLowerCase()] = seal.encapsulatedKeyHex;
    const response = await deps.client.send({ method: request.method, path: request.path, headers, body: seal?.body, signal: request.signal });
    if (await isKeyMismatch(response)) throw new UpstreamError('key_mismatch', 'the enclave no longer holds the attested HPKE key');
    if (!seal) return plainResponse(response, 'encrypted', result.releaseDigest);
    const nonce = response.headers[RESPONSE_NONCE_HEADER.toLowerCase()];
    if (typeof nonce !== 'string') {
      response.body.resume();
      throw new UpstreamError('protocol', `the upstream answered HTTP ${response.status} to an encrypted request without encrypting it; the answer was dropped`);
    }
    const keys = responseKeys(seal, nonce);
    const body = response.body.pipe(new DecryptingStream(keys));
    response.body.on('error', (error) => body.destroy(toUpstreamError(error, request.path)));
    return {
      mode: 'encrypted',
      status: response.status,
      headers: forwardableResponseHeaders(response.headers, ['content-length', RESPONSE_NONCE_HEADER.toLowerCase()]),
      body,
      announcedTrailers: [],
      trailers: () => response.trailers,
      releaseDigest: result.releaseDigest,
    };
  };

  const passthrough = async (request: ProviderRequest): Promise<ProviderResponse> => {
    const { result } = deps.attestation.require();
    const headers = { ...request.headers, ...authHeaders(deps.apiKey) };
    const response = await deps.client.send({ method: request.method, path: request.path, headers, body: request.body, signal: request.signal });
    if (response.status === 422) void deps.attestation.reattest('a client-sealed request met a stale key');
    return plainResponse(response, 'passthrough', result.releaseDigest);
  };

  return {
    kind: 'tinfoil',
    attested: true,
    attestation: () => deps.attestation.state(),
    start: () => {
      deps.attestation.start();
    },
    close: async () => {
      deps.attestation.stop();
      await deps.client.close();
    },
    async send(request: ProviderRequest): Promise<ProviderResponse> {
      if (request.passthrough) return passthrough(request);
      try {
        return await sealed(request);
      } catch (error) {
        if (!(error instanceof UpstreamError) || !error.retriable || request.signal.aborted) throw error;
        deps.onRetry?.(error.kind);
        await deps.attestation.reattest(error.kind);
        return sealed(request);
      }
    },
  };
}
