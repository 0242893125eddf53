import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { DEVELOPMENT_TRUST_ENV } from '../../test/harness/config-problems.ts';
import { parseConfig } from '../../proxy/config/load.ts';
import { injectSidecar } from '../webhook/sidecar.ts';
import { proxyContainer, proxyVolumes } from './container.ts';
import { desiredChildren, sidecarConfigYaml } from './desired.ts';
import { proxyConfigYaml } from './proxy-config.ts';

const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';
const image = { image: 'registry.local/proxy:1', pullPolicy: 'IfNotPresent' as const };
const options = { image, tokenReviewClusterRole: 'attested-inference-tokenreview', apiServerPorts: [443] };
const development = endpoint('dev', { provider: 'tinfoil', upstream: { url: 'http://sim.team-a.svc:8080' }, apiKeySecretRef: { name: 'k' }, attestation: { trust: 'Development', developmentPublicKey: PEM, bundleUrl: 'http://sim.team-a.svc:8080' } });
const verified = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' } });
const pod = { metadata: { name: 'app', namespace: 'team-a' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };

describe('rendering development trust', () => {
  it('is impossible unless development trust is allowed explicitly', () => {
    expect(() => desiredChildren(development, options)).toThrow('spec.attestation.trust is Development, which is not allowed');
    expect(() => desiredChildren(development, { ...options, allowDevelopmentTrust: false })).toThrow('not allowed');
    expect(() => proxyConfigYaml(development, { listenHost: '0.0.0.0' })).toThrow('not allowed');
    expect(() => sidecarConfigYaml(development)).toThrow('not allowed');
    expect(() => proxyContainer(development, image, proxyVolumes(development))).toThrow('not allowed');
    expect(() => injectSidecar(pod, development, { image })).toThrow('not allowed');
  });

  it('when allowed, opts the proxy in on its container only, and the proxy accepts the rendering with that opt-in', () => {
    const { objects } = desiredChildren(development, { ...options, allowDevelopmentTrust: true });
    const deployment = objects.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { env?: unknown }[] } } } };
    expect(deployment.spec.template.spec.containers[0]?.env).toEqual([{ name: 'AIO_ALLOW_DEVELOPMENT_TRUST', value: 'true' }]);
    const config = objects.find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> };
    expect(parseConfig(parse(config.data['proxy.yaml']!), DEVELOPMENT_TRUST_ENV).attestation.trust).toBe('Development');
    expect(() => parseConfig(parse(config.data['proxy.yaml']!))).toThrow('AIO_ALLOW_DEVELOPMENT_TRUST=true');
    const sidecar = injectSidecar(pod, development, { image, allowDevelopmentTrust: true }).spec!.initContainers![0]!;
    expect(sidecar.env).toEqual([{ name: 'AIO_ALLOW_DEVELOPMENT_TRUST', value: 'true' }]);
  });

  it('never opts a Verified endpoint in', () => {
    const { objects } = desiredChildren(verified, { ...options, allowDevelopmentTrust: true });
    const deployment = objects.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { env?: unknown }[] } } } };
    expect(deployment.spec.template.spec.containers[0]?.env).toBeUndefined();
    expect(injectSidecar(pod, verified, { image }).spec!.initContainers![0]!.env).toBeUndefined();
  });
});
