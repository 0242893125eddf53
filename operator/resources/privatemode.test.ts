import type { V1ConfigMap, V1Deployment, V1NetworkPolicy } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../proxy/config/load.ts';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { parseOperatorOptions } from '../config.ts';
import { policyViolations } from '../policy/admin-policy.ts';
import { builtInPolicy } from '../policy/model.ts';
import { desiredChildren, type DesiredOptions } from './desired.ts';

const PINNED = `ghcr.io/edgelesssys/privatemode/privatemode-proxy@sha256:${'a'.repeat(64)}`;
const options: DesiredOptions = { image: { image: 'registry.local/proxy:1', pullPolicy: 'IfNotPresent', privatemodeProxyImage: PINNED }, tokenReviewClusterRole: 'tr', apiServerPorts: [443] };
const pm = endpoint('pm', { provider: 'privatemode', apiKeySecretRef: { name: 'privatemode-api-key', key: 'apiKey' } });

function rendered(): { pod: NonNullable<V1Deployment['spec']>['template']['spec']; config: ReturnType<typeof parseConfig>; policy: V1NetworkPolicy } {
  const objects = desiredChildren(pm, options).objects;
  const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
  const configMap = objects.find((o) => o.metadata?.name === 'pm-proxy-config') as V1ConfigMap;
  return {
    pod: deployment.spec!.template.spec,
    config: parseConfig(parseAllDocuments(configMap.data!['proxy.yaml']!)[0]!.toJS()),
    policy: objects.find((o) => o.kind === 'NetworkPolicy') as V1NetworkPolicy,
  };
}

describe('provider privatemode, rendered', () => {
  it('runs privatemode-proxy as a native sidecar from the pinned image, reading the key from its file', () => {
    const [sidecar, ...others] = rendered().pod!.initContainers ?? [];
    expect(others).toEqual([]);
    expect(sidecar).toMatchObject({
      name: 'privatemode-proxy',
      image: PINNED,
      restartPolicy: 'Always',
      args: ['--apiKey=@/var/run/secrets/privatemode/api-key', '--port=18080', '--workspace=/workspace'],
      startupProbe: { tcpSocket: { port: 18080 } },
      securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    });
    expect(sidecar!.env).toBeUndefined();
  });

  it('mounts the Privatemode key into privatemode-proxy alone, never into the proxy', () => {
    const { pod } = rendered();
    const keyVolume = pod!.volumes!.find((v) => v.secret?.secretName === 'privatemode-api-key')!;
    expect(keyVolume.secret!.items).toEqual([{ key: 'apiKey', path: 'api-key' }]);
    expect(pod!.initContainers![0]!.volumeMounts).toContainEqual({ name: keyVolume.name, mountPath: '/var/run/secrets/privatemode', readOnly: true });
    expect(pod!.containers).toHaveLength(1);
    expect(pod!.containers[0]!.volumeMounts!.map((m) => m.name)).not.toContain(keyVolume.name);
  });

  it('points the proxy at privatemode-proxy on loopback, with no key file, and its loader accepts that', () => {
    const { config } = rendered();
    expect(config.provider).toMatchObject({ type: 'privatemode', upstreamUrl: 'http://127.0.0.1:18080' });
    expect(config.provider.apiKeyFile).toBeUndefined();
    expect(config.provider.apiKeyFiles).toBeUndefined();
  });

  it('admits only the proxy\'s ports from outside the pod, and lets privatemode-proxy reach Privatemode over https', () => {
    const { policy } = rendered();
    expect(policy.spec!.ingress!.flatMap((rule) => rule.ports!.map((p) => p.port))).toEqual([8080, 9090]);
    expect(policy.spec!.egress!.flatMap((rule) => rule.ports!.map((p) => p.port))).toContain(443);
  });

  it('is refused, naming the operator setting, when the operator has no privatemode-proxy image', () => {
    const violations = policyViolations(pm, builtInPolicy(false), { proxyImage: 'registry.local/proxy:1', allowDevelopmentTrust: false });
    expect(violations).toEqual([expect.objectContaining({ field: 'spec.provider', rule: 'operatorSettings', message: expect.stringContaining('--privatemode-proxy-image') as unknown })]);
    expect(policyViolations(pm, builtInPolicy(false), { proxyImage: 'registry.local/proxy:1', allowDevelopmentTrust: false, privatemodeProxyImage: PINNED })).toEqual([]);
  });

  it('takes the operator setting only pinned by digest', () => {
    const parse = (image: string): ReturnType<typeof parseOperatorOptions> => parseOperatorOptions(['--proxy-image=registry.local/proxy:1', `--privatemode-proxy-image=${image}`], {});
    expect(parse(PINNED).privatemodeProxyImage).toBe(PINNED);
    expect(() => parse('ghcr.io/edgelesssys/privatemode/privatemode-proxy:latest')).toThrow(/pinned by digest/);
    expect(parseOperatorOptions(['--proxy-image=registry.local/proxy:1'], {}).privatemodeProxyImage).toBeUndefined();
  });
});
