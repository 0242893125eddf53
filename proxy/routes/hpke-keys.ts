import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallerAuthenticator } from '../auth/types.ts';
import { publicKeyOfKeyConfig } from '../ehbp/key-config.ts';
import { ProxyError } from '../errors.ts';
import type { Provider } from '../upstream/provider.ts';
import { refuseUnread } from './inference.ts';

/** HpkeKeysDeps is what the key relay needs: the provider (its upstream client) and the caller authentication. */
export interface HpkeKeysDeps {
  readonly provider: Provider;
  readonly authenticator: CallerAuthenticator;
}

/**
 * hpkeKeysRoute serves `/.well-known/hpke-keys` for callers that encrypt themselves (EHBP
 * pass-through). Callers authenticate as on the inference routes (before anything else is done),
 * since each call makes the proxy fetch from its upstream. It relays the upstream's key
 * configuration (RFC 9458 format), fetched through the provider with a deadline and a size bound,
 * only when the key in it is the attested one, so a caller can never be handed a key the proxy
 * has not verified.
 */
export function hpkeKeysRoute(deps: HpkeKeysDeps): {
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
} {
  return {
    async onRequest(request, reply) {
      try {
        await deps.authenticator.authenticate(request.headers);
      } catch (error) {
        refuseUnread(request, reply);
        throw error;
      }
    },
    async handler(_request, reply) {
      const { provider } = deps;
      const state = provider.attestation();
      if (provider.keyConfiguration === undefined) throw new ProxyError('not_found', 'this endpoint has no attested enclave, so it has no HPKE keys');
      if (state.status !== 'verified') throw new ProxyError(state.status === 'pending' ? 'attestation_pending' : 'attestation_failed');
      const { body, contentType } = await provider.keyConfiguration();
      let keyHex: string;
      try {
        keyHex = publicKeyOfKeyConfig(body);
      } catch (cause) {
        throw new ProxyError('upstream_protocol_error', 'the upstream key configuration could not be read', { cause });
      }
      if (keyHex !== state.result.hpkePublicKey.toLowerCase()) {
        throw new ProxyError('attestation_failed', 'the upstream serves an HPKE key that is not the attested one; nothing was relayed');
      }
      return reply.type(contentType ?? 'application/ohttp-keys').send(body);
    },
  };
}
