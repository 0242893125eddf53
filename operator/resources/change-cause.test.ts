import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { ANNOTATION_CHANGE_CAUSE, ANNOTATION_TEMPLATE_HASH } from './change-cause.ts';
import { deploymentFor } from './deployment.ts';
import { podDisruptionBudgetFor } from './networking.ts';

const image = { image: 'registry.local/proxy:1', pullPolicy: 'IfNotPresent' as const };
const base = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, replicas: 2 });
const digest = (c: string): string => c.repeat(64);
const cause = (d: ReturnType<typeof deploymentFor>): string | undefined => d.metadata?.annotations?.[ANNOTATION_CHANGE_CAUSE];

describe('the Deployment\'s change-cause', () => {
  const first = deploymentFor(base, { image, configHash: 'c1', releaseDigest: digest('a') });

  it('says the Deployment was created, for which generation and release', () => {
    expect(cause(first)).toBe(`attested-inference-operator: created for InferenceEndpoint generation 1 (release ${digest('a').slice(0, 12)})`);
    expect(first.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH]).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is kept while the template is unchanged, even when the generation moved (replicas only)', () => {
    const scaled = { ...base, metadata: { name: 'chat', namespace: 'team-a', uid: 'uid-chat', generation: 5 }, spec: { ...base.spec, replicas: 4 } };
    expect(cause(deploymentFor(scaled, { image, configHash: 'c1', releaseDigest: digest('a'), previousDeployment: first }))).toBe(cause(first));
  });

  it('names a release change, an image change and a spec change', () => {
    const later = { ...base, metadata: { name: 'chat', namespace: 'team-a', uid: 'uid-chat', generation: 3 } };
    expect(cause(deploymentFor(later, { image, configHash: 'c1', releaseDigest: digest('b'), previousDeployment: first }))).toBe(
      `attested-inference-operator: upstream release changed from ${digest('a').slice(0, 12)} to ${digest('b').slice(0, 12)} (attestation policy Follow), InferenceEndpoint generation 3`,
    );
    expect(cause(deploymentFor(later, { image: { ...image, image: 'registry.local/proxy:2' }, configHash: 'c1', releaseDigest: digest('a'), previousDeployment: first }))).toBe(
      'attested-inference-operator: proxy image registry.local/proxy:2, InferenceEndpoint generation 3',
    );
    expect(cause(deploymentFor(later, { image, configHash: 'c2', releaseDigest: digest('a'), previousDeployment: first }))).toMatch(/^attested-inference-operator: spec changed, InferenceEndpoint generation 3 /);
  });
});

describe('the proxy PodDisruptionBudget', () => {
  it('lets a drain evict proxy pods that are not ready', () => {
    expect(podDisruptionBudgetFor(base).spec).toMatchObject({ unhealthyPodEvictionPolicy: 'AlwaysAllow', minAvailable: 1 });
    expect(podDisruptionBudgetFor({ ...base, spec: { ...base.spec, replicas: 1 } }).spec).toMatchObject({ unhealthyPodEvictionPolicy: 'AlwaysAllow', maxUnavailable: 1 });
  });
});
