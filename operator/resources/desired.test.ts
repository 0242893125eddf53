import type { V1ConfigMap, V1Deployment, V1NetworkPolicy } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../proxy/config/load.ts';
import { endpoint, sampleEndpoints } from '../../test/fixtures/endpoints.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { desiredChildren, type DesiredOptions } from './desired.ts';
import { ANNOTATION_CONFIG_HASH, ANNOTATION_RELEASE_DIGEST } from './names.ts';

const options: DesiredOptions = { image: { image: 'registry.local/proxy:1.0.0', pullPolicy: 'IfNotPresent' }, tokenReviewClusterRole: 'attested-inference-tokenreview', apiServerPorts: [443, 6443] };

const variants: InferenceEndpoint[] = [
  ...sampleEndpoints(),
  endpoint('sa', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, callers: { auth: 'serviceaccount', audiences: ['a'], allowedServiceAccounts: ['team-a/billing', 'team-b/*'] }, rateLimits: { requestsPerMinute: 10 }, promptCache: { secretRef: { name: 'c', key: 's' } } }),
  endpoint('keys', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, callers: { auth: 'static-keys', staticKeysSecretRef: { name: 'callers' } }, attestation: { policy: 'Pin', pinnedDigests: ['a'.repeat(64)], recheckInterval: '1h30m' }, prices: { models: { m: { input: '0.15', output: '0.6', cachedInput: '0.075' } } } }),
];

describe('desired children', () => {
  it('renders a proxy configuration the proxy itself accepts, for every sample and variant', () => {
    expect(variants.length).toBeGreaterThanOrEqual(4);
    for (const e of variants) {
      const configMap = desiredChildren(e, options).objects.find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
      const config = parseConfig((parseAllDocuments(configMap.data!['proxy.yaml']!)[0]!.toJS() as unknown));
      expect(config.endpoint).toEqual({ name: e.metadata.name, namespace: 'team-a' });
      expect(config.provider.apiKeyFile).toBe('/var/run/secrets/inference/provider/api-key');
    }
  });

  it('renders a sidecar configuration beside it: API on loopback only, sidecar ports, no caller auth', () => {
    for (const e of variants) {
      const sidecar = desiredChildren(e, options).objects.find((o) => o.metadata?.name === `${e.metadata.name!}-proxy-sidecar-config`) as V1ConfigMap;
      const config = parseConfig(parseAllDocuments(sidecar.data!['proxy.yaml']!)[0]!.toJS());
      expect(config.listen).toEqual({ host: '127.0.0.1', port: 15080 });
      expect(config.admin).toEqual({ host: '0.0.0.0', port: 15090 });
      expect(config.auth.mode).toBe('none');
      expect(config.provider.apiKeyFile).toBe('/var/run/secrets/inference/provider/api-key');
    }
  });

  it('converts prices to exact micro-units and durations to seconds', () => {
    const configMap = desiredChildren(variants.at(-1)!, options).objects.find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
    const config = parseConfig(parseAllDocuments(configMap.data!['proxy.yaml']!)[0]!.toJS());
    expect(config.prices.models.m).toEqual({ inputPerMillion: 150_000, cachedInputPerMillion: 75_000, outputPerMillion: 600_000 });
    expect(config.attestation).toMatchObject({ policy: 'Pin', recheckIntervalSeconds: 5400 });
    expect(config.auth).toMatchObject({ mode: 'static-keys', staticKeysFile: '/var/run/secrets/inference/callers' });
  });

  it('passes the ServiceAccounts allowed to call on to the proxy', () => {
    const sa = variants.find((e) => e.metadata.name === 'sa')!;
    const configMap = desiredChildren(sa, options).objects.find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
    const config = parseConfig(parseAllDocuments(configMap.data!['proxy.yaml']!)[0]!.toJS());
    expect(config.auth).toMatchObject({ mode: 'serviceaccount', audiences: ['a'], allowedServiceAccounts: ['team-a/billing', 'team-b/*'] });
  });

  it('mounts the provider key into the proxy container only, read-only, with a hardened pod', () => {
    const first = variants[0]!;
    const deployment = desiredChildren(first, options).objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    const pod = deployment.spec!.template.spec!;
    expect(pod.containers).toHaveLength(1);
    const proxy = pod.containers[0]!;
    const ref = first.spec.apiKeySecretRef!;
    const keyVolume = pod.volumes!.find((v) => v.secret?.secretName === ref.name)!;
    expect(keyVolume.secret!.items).toEqual([{ key: ref.key, path: 'api-key' }]);
    expect(proxy.volumeMounts!.find((m) => m.name === keyVolume.name)).toMatchObject({ readOnly: true, mountPath: '/var/run/secrets/inference/provider' });
    expect(proxy.env ?? []).toEqual([]);
    expect(proxy.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(first.spec.callers.auth === 'serviceaccount');
    expect(deployment.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  it('mounts a pool of provider keys as one projected volume, a file per key in the order of the spec, and names them all to the proxy', () => {
    const pooled = endpoint('pool', { provider: 'tinfoil', apiKeySecretRefs: [{ name: 'keys', key: 'a' }, { name: 'keys', key: 'b' }, { name: 'spare', key: 'api-key' }] });
    const children = desiredChildren(pooled, options).objects;
    const pod = (children.find((o) => o.kind === 'Deployment') as V1Deployment).spec!.template.spec!;
    const keyVolume = pod.volumes!.find((v) => v.name === 'attested-inference-provider-key')!;
    expect(keyVolume.secret).toBeUndefined();
    expect(keyVolume.projected!.sources).toEqual([
      { secret: { name: 'keys', items: [{ key: 'a', path: 'api-key-0' }] } },
      { secret: { name: 'keys', items: [{ key: 'b', path: 'api-key-1' }] } },
      { secret: { name: 'spare', items: [{ key: 'api-key', path: 'api-key-2' }] } },
    ]);
    expect(pod.initContainers ?? []).toEqual([]);
    expect(pod.containers.map((c) => c.volumeMounts?.find((m) => m.name === keyVolume.name)?.mountPath)).toEqual(['/var/run/secrets/inference/provider']);
    for (const name of ['pool-proxy-config', 'pool-proxy-sidecar-config']) {
      const configMap = children.find((o) => o.metadata?.name === name) as V1ConfigMap;
      const config = parseConfig(parseAllDocuments(configMap.data!['proxy.yaml']!)[0]!.toJS());
      expect(config.provider.apiKeyFile).toBeUndefined();
      expect(config.provider.apiKeyFiles).toEqual([0, 1, 2].map((i) => `/var/run/secrets/inference/provider/api-key-${String(i)}`));
    }
  });

  it('rolls pods when the configuration or the attested release changes, and only then', () => {
    const first = variants[0]!;
    const annotations = (o: DesiredOptions, e = first): Record<string, string> =>
      (desiredChildren(e, o).objects.find((x) => x.kind === 'Deployment') as V1Deployment).spec!.template.metadata!.annotations!;
    const base = annotations(options);
    expect(annotations(options)).toEqual(base);
    expect(annotations({ ...options, releaseDigest: 'b'.repeat(64) })[ANNOTATION_RELEASE_DIGEST]).toBe('b'.repeat(64));
    const changed = { ...first, spec: { ...first.spec, rateLimits: { requestsPerMinute: 5 } } };
    expect(annotations(options, changed)[ANNOTATION_CONFIG_HASH]).not.toBe(base[ANNOTATION_CONFIG_HASH]);
  });

  it('owns every child, labels it, and binds TokenReview only for ServiceAccount callers', () => {
    for (const ep of variants) {
      const { objects } = desiredChildren(ep, options);
      for (const o of objects) {
        expect(o.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'InferenceEndpoint', name: ep.metadata.name, controller: true })]);
        expect(o.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'attested-inference-operator', 'inference.attested.dev/endpoint': ep.metadata.name });
      }
      const kinds = objects.map((o) => o.kind);
      expect(kinds.includes('RoleBinding')).toBe(ep.spec.callers.auth === 'serviceaccount');
      const policy = objects.find((o) => o.kind === 'NetworkPolicy') as V1NetworkPolicy;
      const egressPorts = policy.spec!.egress![1]!.ports!.map((p) => p.port);
      expect(egressPorts.includes(6443)).toBe(ep.spec.callers.auth === 'serviceaccount');
    }
  });
});
