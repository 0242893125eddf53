import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.ts';

/** AttestationReport is the admin view of the upstream's attestation; it never contains secrets. */
export interface AttestationReport {
  readonly provider: string;
  readonly attested: boolean;
  readonly status: 'pending' | 'verified' | 'failed' | 'unattested' | 'delegated';
  readonly trust?: string;
  readonly domain?: string;
  readonly releaseDigest?: string;
  readonly measurementFingerprint?: string;
  readonly hpkePublicKey?: string;
  readonly tlsPublicKeyFingerprint?: string;
  readonly verifiedAt?: string;
  /** expiresAt is when the verified document stops vouching for the upstream, when it says so. */
  readonly expiresAt?: string;
  readonly failure?: { readonly step: string; readonly message: string };
}

/** attestationReport summarizes the provider's attestation state for the admin endpoint and the operator. */
export function attestationReport(runtime: Runtime): AttestationReport {
  const state = runtime.provider.attestation();
  const base = { provider: runtime.provider.kind, attested: runtime.provider.attested, status: state.status };
  if (state.status === 'verified') {
    const r = state.result;
    return {
      ...base, trust: r.trust, domain: r.domain, releaseDigest: r.releaseDigest, measurementFingerprint: r.measurementFingerprint,
      hpkePublicKey: r.hpkePublicKey, tlsPublicKeyFingerprint: r.tlsPublicKeyFingerprint, verifiedAt: r.verifiedAt.toISOString(),
      ...(r.expiresAt ? { expiresAt: r.expiresAt.toISOString() } : {}),
    };
  }
  if (state.status === 'failed') {
    const previous = state.previous ? { releaseDigest: state.previous.releaseDigest, measurementFingerprint: state.previous.measurementFingerprint } : {};
    return { ...base, ...previous, failure: { step: state.failure.step, message: state.failure.message } };
  }
  return base;
}

/**
 * registerAdminRoutes serves probes, metrics and status on the admin listener. `/readyz` is false
 * while draining and until the upstream verified once or the first-verification window passed
 * (docs/adr/0013, checked in a hook ahead of this route); after that an attestation failure is
 * answered per request with a clear error instead of removing the pods from their Service
 * (docs/adr/0001).
 */
export function registerAdminRoutes(app: FastifyInstance, runtime: Runtime, lifecycle: { readonly draining: () => boolean }): void {
  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => (lifecycle.draining() ? reply.code(503).send({ status: 'draining' }) : reply.send({ status: 'ready' })));
  app.get('/metrics', async (_request, reply) => {
    const body = await runtime.registry.metrics();
    return reply.type(runtime.registry.contentType).send(body);
  });
  app.get('/admin/attestation', (_request, reply) => reply.send(attestationReport(runtime)));
  app.get('/admin/status', (_request, reply) => reply.send({
    endpoint: runtime.config.endpoint,
    provider: runtime.config.provider.type,
    trust: runtime.config.attestation.trust,
    providerKeyLoaded: runtime.keys.loaded() > 0,
    providerKeys: { configured: runtime.keys.size, loaded: runtime.keys.loaded(), setAside: runtime.keys.setAside().filter((until) => until > Date.now()).length },
    draining: lifecycle.draining(),
    attestation: attestationReport(runtime),
    limits: runtime.limitsStatus(),
  }));
}
