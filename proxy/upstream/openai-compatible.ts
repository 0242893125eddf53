import { ProxyError } from '../errors.ts';
import type { UpstreamClient } from './http.ts';
import { sendWithKeys, type KeyPool } from './key-pool.ts';
import { plainResponse, type Provider, type ProviderRequest, type ProviderResponse } from './provider.ts';

/**
 * createOpenAICompatibleProvider forwards plaintext to an unattested OpenAI-compatible upstream.
 * The endpoint had to acknowledge that (`provider.acknowledgeUnattested`); metrics, status and logs
 * say `Unattested`. Client-sealed EHBP bodies have no enclave to go to and are refused.
 */
export function createOpenAICompatibleProvider(deps: { client: UpstreamClient; keys: KeyPool }): Provider {
  return {
    kind: 'openai-compatible',
    attested: false,
    attestation: () => ({ status: 'unattested' }),
    start: () => undefined,
    close: () => deps.client.close(),
    async send(request: ProviderRequest): Promise<ProviderResponse> {
      if (request.passthrough) throw new ProxyError('passthrough_not_allowed', 'this endpoint forwards to an unattested upstream; EHBP-encrypted requests cannot be delivered');
      // An upstream without a key is allowed: without one, no Authorization header is sent.
      return sendWithKeys(deps.keys, request.signal, (key) => forwardPlain(deps.client, request, key?.value));
    },
  };
}

/** forwardPlain sends a request as it is, with the provider key as bearer when there is one. */
export async function forwardPlain(client: UpstreamClient, request: ProviderRequest, key: string | undefined): Promise<ProviderResponse> {
  const auth: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
  const response = await client.send({ method: request.method, path: request.path, headers: { ...request.headers, ...auth }, body: request.body, signal: request.signal });
  return plainResponse(response, 'plain');
}
