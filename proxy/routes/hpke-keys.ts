import type { FastifyReply, FastifyRequest } from 'fastify';
import { publicKeyOfKeyConfig } from '../ehbp/key-config.ts';
import { ProxyError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';

/**
 * hpkeKeysHandler serves `/.well-known/hpke-keys` for callers that encrypt themselves (EHBP
 * pass-through). It relays the upstream's key configuration (RFC 9458 format) only when the key in
 * it is the attested one, so a caller can never be handed a key the proxy has not verified.
 */
export function hpkeKeysHandler(runtime: Runtime): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async (_request, reply) => {
    const state = runtime.provider.attestation();
    if (runtime.provider.kind !== 'tinfoil') throw new ProxyError('not_found', 'this endpoint has no attested enclave, so it has no HPKE keys');
    if (state.status !== 'verified') throw new ProxyError(state.status === 'pending' ? 'attestation_pending' : 'attestation_failed');
    const response = await fetch(new URL('/.well-known/hpke-keys', runtime.config.provider.upstreamUrl));
    const body = Buffer.from(await response.arrayBuffer());
    let keyHex: string;
    try {
      keyHex = publicKeyOfKeyConfig(body);
    } catch (cause) {
      throw new ProxyError('upstream_protocol_error', 'the upstream key configuration could not be read', { cause });
    }
    if (keyHex !== state.result.hpkePublicKey.toLowerCase()) {
      throw new ProxyError('attestation_failed', 'the upstream serves an HPKE key that is not the attested one; nothing was relayed');
    }
    return reply.type(response.headers.get('content-type') ?? 'application/ohttp-keys').send(body);
  };
}
