import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { parsePolicy } from '../../../operator/policy/load.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, recordingPort, type RecordingPort, RECONCILER_OPTIONS } from './support.ts';

const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';
const base = { provider: 'tinfoil', apiKeySecretRef: { name: 'provider-key' }, replicas: 1 };
const unattested = { provider: 'openai-compatible', acknowledgeUnattested: true, upstream: { url: 'https://api.allowed.example/v1' }, apiKeySecretRef: { name: 'provider-key' }, replicas: 1 };

/** ATTACKS are what a namespace tenant may write into an InferenceEndpoint that only the admin may decide. */
const ATTACKS: [string, Record<string, unknown>, string][] = [
  ['image', { ...base, proxy: { image: 'evil.example/proxy:1' } }, 'spec.proxy.image "evil.example/proxy:1" is not allowed by policy attested-inference-policy (proxyImages)'],
  ['repo', { ...base, attestation: { configRepo: 'evil/router' } }, 'spec.attestation.configRepo "evil/router" is not allowed by policy attested-inference-policy (configRepos)'],
  ['host', { ...unattested, upstream: { url: 'https://evil.example/v1' } }, 'spec.upstream.url "https://evil.example/v1" is not allowed by policy attested-inference-policy (unattestedUpstreamHosts)'],
  ['store', { ...base, limitsStore: { redis: { url: 'redis://redis.tenant.svc:6379' } } }, 'spec.limitsStore.redis.url "redis://redis.tenant.svc:6379" is not allowed by policy attested-inference-policy (limitsStores)'],
  ['dev', { ...base, upstream: { url: 'http://upstream.tenant.svc:8080' }, attestation: { trust: 'Development', developmentPublicKey: PEM, bundleUrl: 'http://upstream.tenant.svc:8080' } }, 'spec.attestation.trust "Development" is not allowed by policy attested-inference-policy (developmentTrust)'],
];

describe('the admin policy on the real API server', () => {
  const cluster = testCluster();
  let tenant: Awaited<ReturnType<typeof createNamespace>>;
  let excepted: Awaited<ReturnType<typeof createNamespace>>;
  let port: RecordingPort;
  let reconciler: EndpointReconciler;
  let watcher: AttestationWatcher;

  beforeAll(async () => {
    await installCrd(cluster);
    tenant = await createNamespace(cluster.core, 'policy-tenant');
    excepted = await createNamespace(cluster.core, 'policy-excepted');
    port = recordingPort(cluster);
    watcher = new AttestationWatcher({ allowDevelopmentTrust: false, onUpdate: () => undefined });
    // The operator as the chart runs it by default: no --allow-development-trust, one exception namespace.
    const policy = parsePolicy({ name: 'attested-inference-policy', namespaces: { [excepted.name]: { unattestedUpstreamHosts: ['api.allowed.example'] } } }, false);
    reconciler = new EndpointReconciler({
      port, watcher, policy, now: () => new Date(),
      options: { ...RECONCILER_OPTIONS, allowDevelopmentTrust: false },
    });
  });
  afterAll(async () => {
    watcher.stop();
    await tenant.remove();
    await excepted.remove();
  });

  async function childrenIn(namespace: string): Promise<string[]> {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const selector = { namespace, labelSelector: 'app.kubernetes.io/managed-by=attested-inference-operator' };
    const lists = await Promise.all([
      cluster.kc.makeApiClient(AppsV1Api).listNamespacedDeployment(selector),
      core.listNamespacedConfigMap(selector),
      core.listNamespacedService(selector),
      core.listNamespacedServiceAccount(selector),
    ]);
    return lists.flatMap((l) => l.items.map((o) => o.metadata?.name ?? ''));
  }

  for (const [name, spec, message] of ATTACKS) {
    it(`refuses ${name}: Degraded PolicyViolation naming field and policy, a Warning Event, no children`, async () => {
      await createEndpoint(cluster, tenant.name, name, spec);
      await reconciler.reconcile(`${tenant.name}/${name}`);
      const endpoint = await readEndpoint(cluster, tenant.name, name);
      expect(condition(endpoint, 'Degraded')).toMatchObject({ status: 'True', reason: 'PolicyViolation' });
      expect(condition(endpoint, 'Degraded')?.message).toContain(message);
      expect(condition(endpoint, 'Ready')).toMatchObject({ status: 'False', reason: 'RefusedByPolicy' });
      expect(port.events).toContainEqual(expect.objectContaining({ endpoint: name, type: 'Warning', reason: 'PolicyViolation' }));
      expect(await childrenIn(tenant.name)).toEqual([]);
    });
  }

  it('lets a namespace exception allow an unattested host in that namespace only', async () => {
    await createEndpoint(cluster, excepted.name, 'plain', unattested);
    await reconciler.reconcile(`${excepted.name}/plain`);
    expect(await childrenIn(excepted.name)).toContain('plain-proxy');
    expect(condition(await readEndpoint(cluster, excepted.name, 'plain'), 'Degraded')?.reason).not.toBe('PolicyViolation');
    await createEndpoint(cluster, tenant.name, 'plain', unattested);
    await reconciler.reconcile(`${tenant.name}/plain`);
    expect(condition(await readEndpoint(cluster, tenant.name, 'plain'), 'Degraded')).toMatchObject({ reason: 'PolicyViolation' });
    expect(await childrenIn(tenant.name)).toEqual([]);
  });

  it('deletes the children of an endpoint that becomes refused, and never writes the refused rendering', async () => {
    const { CustomObjectsApi } = await import('@kubernetes/client-node');
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    await custom.patchNamespacedCustomObject({ group: 'inference.attested.dev', version: 'v1alpha1', plural: 'inferenceendpoints', namespace: excepted.name, name: 'plain', body: [{ op: 'replace', path: '/spec/proxy/image', value: 'evil.example/proxy:1' }] });
    await reconciler.reconcile(`${excepted.name}/plain`);
    const deployment = await cluster.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: excepted.name, name: 'plain-proxy' }).catch(() => undefined);
    // Deleted in the background: gone, or going, and never carrying the refused image.
    expect(deployment === undefined || deployment.metadata?.deletionTimestamp !== undefined).toBe(true);
    expect(deployment?.spec?.template.spec?.containers[0]?.image).not.toBe('evil.example/proxy:1');
    expect(port.events).toContainEqual(expect.objectContaining({ endpoint: 'plain', reason: 'PolicyViolation', message: expect.stringContaining('Deleted Deployment/plain-proxy') as unknown }));
  });
});
