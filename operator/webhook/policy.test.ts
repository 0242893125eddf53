import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { parsePolicy } from '../policy/load.ts';
import { admitPod, type InjectionOutcome } from './handler.ts';

const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';
const image = { image: 'registry.local/attested-inference-proxy:test', pullPolicy: 'IfNotPresent' } as const;
const reconciled = (e: InferenceEndpoint): InferenceEndpoint => ({ ...e, status: { observedGeneration: 1 } });
const pod: V1Pod = { metadata: { name: 'app', annotations: { 'inference.attested.dev/inject': 'chat' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };

const refused: [string, InferenceEndpoint, string][] = [
  ['a tenant proxy image', endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, proxy: { image: 'evil.example/proxy:1' } }), 'spec.proxy.image'],
  ['a foreign config repository', endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, attestation: { configRepo: 'evil/router' } }), 'spec.attestation.configRepo'],
  ['an unlisted unattested host', endpoint('chat', { provider: 'openai-compatible', acknowledgeUnattested: true, upstream: { url: 'https://evil.example/v1' }, apiKeySecretRef: { name: 'k' } }), 'spec.upstream.url'],
  ['development trust with the flag off', endpoint('chat', { provider: 'tinfoil', upstream: { url: 'http://sim:8080' }, apiKeySecretRef: { name: 'k' }, attestation: { trust: 'Development', developmentPublicKey: PEM, bundleUrl: 'http://sim:8080' } }), 'spec.attestation.trust'],
];

async function admit(target: InferenceEndpoint, policy = { policy: parsePolicy({}, false), proxyImage: image.image, allowDevelopmentTrust: false }): Promise<{ allowed: boolean; message: string; outcomes: InjectionOutcome[] }> {
  const outcomes: InjectionOutcome[] = [];
  const response = await admitPod(
    { uid: 'uid-1', namespace: 'team-a', object: pod },
    { readNamespace: () => Promise.resolve({ name: 'team-a' }), listEndpoints: () => Promise.resolve([reconciled(target)]), report: (o) => outcomes.push(o) },
    { image, failureMode: 'reject', policy },
  );
  return { allowed: response.allowed, message: response.status?.message ?? '', outcomes };
}

describe('sidecar injection under the admin policy', () => {
  for (const [name, target, field] of refused) {
    it(`refuses a pod asking for an endpoint with ${name}, naming the field`, async () => {
      const { allowed, message, outcomes } = await admit(target);
      expect(allowed).toBe(false);
      expect(message).toContain('endpoint-refused-by-policy');
      expect(message).toContain(field);
      expect(outcomes[0]).toMatchObject({ result: 'rejected', reason: 'endpoint-refused-by-policy' });
    });
  }

  it('injects a development endpoint where the flag and the policy allow it, with the opt-in on the sidecar', async () => {
    const [, development] = refused[3]!;
    const { allowed, outcomes } = await admit(development, { policy: parsePolicy({ default: { developmentTrust: true } }, true), proxyImage: image.image, allowDevelopmentTrust: true });
    expect(allowed).toBe(true);
    expect(outcomes[0]).toMatchObject({ result: 'injected' });
  });
});
