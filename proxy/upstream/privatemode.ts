import { ProxyError } from '../errors.ts';
import type { UpstreamClient } from './http.ts';
import { forwardPlain } from './openai-compatible.ts';
import type { Provider, ProviderRequest, ProviderResponse } from './provider.ts';

/**
 * createPrivatemodeProvider forwards to Privatemode's own client, privatemode-proxy, running as
 * another container of the same pod (docs/adr/0020). That process attests Privatemode's deployment,
 * holds the Privatemode API key and encrypts the message fields; this proxy sends it plaintext over
 * loopback (the loader refuses any other address) without a key, meters from the plaintext `usage`
 * it returns, and reports the attestation as `delegated`. privatemode-proxy refuses to serve when
 * its attestation fails, which reaches callers as upstream errors. Client-sealed EHBP bodies are
 * refused: Privatemode does not speak EHBP.
 */
export function createPrivatemodeProvider(deps: { client: UpstreamClient }): Provider {
  return {
    kind: 'privatemode',
    attested: false,
    attestation: () => ({ status: 'delegated' }),
    start: () => undefined,
    close: () => deps.client.close(),
    send(request: ProviderRequest): Promise<ProviderResponse> {
      if (request.passthrough) throw new ProxyError('passthrough_not_allowed', 'this endpoint forwards to privatemode-proxy, which does not take EHBP-encrypted requests');
      return forwardPlain(deps.client, request, undefined);
    },
  };
}
