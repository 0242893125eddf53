import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sampleEndpoints } from '../../test/fixtures/endpoints.ts';
import { injectSidecar } from '../webhook/sidecar.ts';
import { desiredChildren, type DesiredOptions } from './desired.ts';

const base: DesiredOptions = { image: { image: 'registry.example/proxy:1.0.0', pullPolicy: 'IfNotPresent' }, tokenReviewClusterRole: 'attested-inference-tokenreview', apiServerPorts: [443] };

const deploymentOf = (options: DesiredOptions): V1Deployment => {
  const [endpoint] = sampleEndpoints();
  if (endpoint === undefined) throw new Error('no sample endpoint');
  const deployment = desiredChildren(endpoint, options).objects.find((o) => o.kind === 'Deployment');
  if (deployment === undefined) throw new Error('no Deployment rendered');
  return deployment;
};

describe('proxy image pull secrets', () => {
  it('are named in the proxy pods of every endpoint, in the order the operator was given them', () => {
    const spec = deploymentOf({ ...base, image: { ...base.image, pullSecrets: ['registry-a', 'registry-b'] } }).spec?.template.spec;
    expect(spec?.imagePullSecrets).toEqual([{ name: 'registry-a' }, { name: 'registry-b' }]);
  });

  it('leave the pod spec without the field when there are none', () => {
    expect(deploymentOf(base).spec?.template.spec).not.toHaveProperty('imagePullSecrets');
    expect(deploymentOf({ ...base, image: { ...base.image, pullSecrets: [] } }).spec?.template.spec).not.toHaveProperty('imagePullSecrets');
  });

  it('are not added to an injected pod, whose own imagePullSecrets apply', () => {
    const [endpoint] = sampleEndpoints();
    if (endpoint === undefined) throw new Error('no sample endpoint');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'team-a' }, spec: { containers: [{ name: 'app', image: 'app:1' }], imagePullSecrets: [{ name: 'apps-registry' }] } };
    const injected = injectSidecar(pod, endpoint, { image: { ...base.image, pullSecrets: ['registry-a'] } });
    expect(injected.spec?.imagePullSecrets).toEqual([{ name: 'apps-registry' }]);
  });
});
