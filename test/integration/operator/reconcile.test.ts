import { AppsV1Api, CoreV1Api, NetworkingV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { ANNOTATION_RELEASE_DIGEST } from '../../../operator/resources/names.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, recordingPort, simulatorEndpointSpec, waitForRollout, type RecordingPort, RECONCILER_OPTIONS } from './support.ts';

describe('the endpoint reconciler against the real API server', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let port: RecordingPort;
  let reconciler: EndpointReconciler;
  let watcher: AttestationWatcher;
  const updates: string[][] = [];

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await createNamespace(cluster.core, 'reconcile');
    port = recordingPort(cluster);
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: (keys) => updates.push([...keys]) });
    reconciler = new EndpointReconciler({
      port,
      watcher,
      now: () => new Date(),
      options: RECONCILER_OPTIONS,
    });
  });
  afterAll(async () => {
    watcher.stop();
    await ns.remove();
    await simulator.close();
  });

  it('creates every child, owned and labelled, and reports Ready and Attested once pods run', async () => {
    await createEndpoint(cluster, ns.name, 'chat', simulatorEndpointSpec(simulator));
    await reconciler.reconcile(`${ns.name}/chat`);
    // The first verification never holds up the reconcile: the endpoint is Pending, gets no Deployment yet, and its arrival requeues it.
    await expect(apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' })).rejects.toThrow(/404/);
    expect(condition(await readEndpoint(cluster, ns.name, 'chat'), 'Attested')).toMatchObject({ status: 'Unknown', reason: 'Pending' });
    await waitFor('the first verification to requeue the endpoint', () => Promise.resolve(updates.some((keys) => keys.includes(`${ns.name}/chat`))), { timeoutMs: 30_000, intervalMs: 50 });
    await reconciler.reconcile(`${ns.name}/chat`);
    const deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' });
    expect(deployment.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'InferenceEndpoint', name: 'chat', controller: true });
    expect(deployment.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST]).toBe(simulator.release.releaseDigest);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    expect((await core.readNamespacedService({ namespace: ns.name, name: 'chat' })).spec?.ports?.map((p) => p.port)).toEqual([80, 9090]);
    expect((await core.readNamespacedConfigMap({ namespace: ns.name, name: 'chat-proxy-config' })).data?.['proxy.yaml']).toContain(simulator.url);
    await core.readNamespacedServiceAccount({ namespace: ns.name, name: 'chat-proxy' });
    expect((await cluster.kc.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ namespace: ns.name, name: 'chat-proxy' })).spec?.minAvailable).toBe(1);
    await cluster.kc.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ namespace: ns.name, name: 'chat-proxy' });

    await waitForRollout(cluster, ns.name, 'chat-proxy', 2);
    await reconciler.reconcile(`${ns.name}/chat`);
    const endpoint = await readEndpoint(cluster, ns.name, 'chat');
    expect(condition(endpoint, 'Ready')).toMatchObject({ status: 'True', reason: 'ProxyPodsReady' });
    expect(condition(endpoint, 'Attested')).toMatchObject({ status: 'True', reason: 'DevelopmentTrust' });
    expect(condition(endpoint, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect(endpoint.status).toMatchObject({ observedGeneration: 1, readyReplicas: 2, url: `http://chat.${ns.name}.svc/v1`, attestation: { trust: 'Development', releaseDigest: simulator.release.releaseDigest } });
    const kubectl = await cluster.kubectl(['wait', '--for=condition=Ready', 'inferenceendpoint/chat', '-n', ns.name, '--timeout=5s']);
    expect(kubectl.code).toBe(0);
  });

  it('writes nothing at steady state', async () => {
    const before = { ...port.writes };
    await reconciler.reconcile(`${ns.name}/chat`);
    await reconciler.reconcile(`${ns.name}/chat`);
    expect(port.writes).toEqual(before);
  });

  it('puts back what someone else changed in a child', async () => {
    const scaled = await cluster.kubectl(['scale', 'deployment/chat-proxy', '--replicas=5', '-n', ns.name]);
    expect(scaled.code).toBe(0);
    await reconciler.reconcile(`${ns.name}/chat`);
    expect((await apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' })).spec?.replicas).toBe(2);
  });

  it('rolls the proxy pods when the attested release changes, and records why', async () => {
    const before = simulator.release.releaseDigest;
    const after = simulator.switchRelease().releaseDigest;
    updates.length = 0;
    await waitFor('the watcher to see the new release', () => Promise.resolve(updates.some((keys) => keys.includes(`${ns.name}/chat`))), { timeoutMs: 30_000, intervalMs: 100 });
    const oldReplicaSets = (await apps.listNamespacedReplicaSet({ namespace: ns.name })).items.map((r) => r.metadata?.name);
    await reconciler.reconcile(`${ns.name}/chat`);
    const rolled = await waitForRollout(cluster, ns.name, 'chat-proxy', 2);
    expect(rolled.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST]).toBe(after);
    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace: ns.name })).items;
    const current = replicaSets.find((r) => !oldReplicaSets.includes(r.metadata?.name));
    expect(current?.status?.readyReplicas).toBe(2);
    for (const old of replicaSets.filter((r) => oldReplicaSets.includes(r.metadata?.name))) expect(old.spec?.replicas).toBe(0);
    await reconciler.reconcile(`${ns.name}/chat`);
    const endpoint = await readEndpoint(cluster, ns.name, 'chat');
    expect(endpoint.status?.attestation?.lastRollout).toMatchObject({ reason: 'ReleaseChanged', fromDigest: before, toDigest: after });
    expect(endpoint.status?.attestation?.releaseDigest).toBe(after);
    expect(port.events.find((e) => e.reason === 'ReleaseChanged')?.message).toContain(after);
  });

  it('does not roll a pinned endpoint: it reports the mismatch instead', async () => {
    const pinnedTo = simulator.release.releaseDigest;
    await createEndpoint(cluster, ns.name, 'pinned', simulatorEndpointSpec(simulator, { replicas: 1, attestation: { policy: 'Pin', pinnedDigests: [pinnedTo] } }));
    await reconciler.reconcile(`${ns.name}/pinned`);
    await waitForRollout(cluster, ns.name, 'pinned-proxy', 1);
    simulator.switchRelease();
    updates.length = 0;
    await waitFor('the watcher to see the new release', () => Promise.resolve(updates.some((keys) => keys.includes(`${ns.name}/pinned`))), { timeoutMs: 30_000, intervalMs: 100 });
    await reconciler.reconcile(`${ns.name}/pinned`);
    const deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'pinned-proxy' });
    expect(deployment.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST]).toBe(pinnedTo);
    const endpoint = await readEndpoint(cluster, ns.name, 'pinned');
    expect(condition(endpoint, 'Attested')).toMatchObject({ status: 'False', reason: 'PinnedDigestMismatch' });
    expect(condition(endpoint, 'Attested')?.message).toContain(simulator.release.releaseDigest);
    expect(port.events.some((e) => e.endpoint === 'pinned' && e.reason === 'PinnedDigestMismatch' && e.type === 'Warning')).toBe(true);
  });

  it('reports a missing provider Secret from kubelet events as Degraded', async () => {
    await createEndpoint(cluster, ns.name, 'nokey', simulatorEndpointSpec(simulator, { replicas: 1, apiKeySecretRef: { name: 'does-not-exist' } }));
    await reconciler.reconcile(`${ns.name}/nokey`);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    let podName = '';
    await waitFor('the proxy pod', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app.kubernetes.io/instance=nokey' });
      podName = pods.items[0]?.metadata?.name ?? '';
      return podName !== '';
    }, { timeoutMs: 30_000 });
    // What kubelet reports for a Secret volume whose Secret is missing (simulated nodes run no kubelet).
    const pod = await core.readNamespacedPodStatus({ namespace: ns.name, name: podName });
    pod.status ??= {};
    pod.status.phase = 'Pending';
    pod.status.conditions = [{ type: 'Ready', status: 'False' }];
    pod.status.containerStatuses = [];
    await core.replaceNamespacedPodStatus({ namespace: ns.name, name: podName, body: pod });
    await core.createNamespacedEvent({
      namespace: ns.name,
      body: {
        metadata: { generateName: `${podName}.` },
        involvedObject: { kind: 'Pod', name: podName, namespace: ns.name },
        reason: 'FailedMount',
        type: 'Warning',
        message: 'MountVolume.SetUp failed for volume "attested-inference-provider-key" : secret "does-not-exist" not found',
      },
    });
    await waitFor('the deployment to count the pod unready', async () => ((await apps.readNamespacedDeployment({ namespace: ns.name, name: 'nokey-proxy' })).status?.readyReplicas ?? 0) === 0, { timeoutMs: 30_000 });
    await reconciler.reconcile(`${ns.name}/nokey`);
    const endpoint = await readEndpoint(cluster, ns.name, 'nokey');
    expect(condition(endpoint, 'Degraded')).toMatchObject({ status: 'True', reason: 'SecretNotFound' });
    expect(condition(endpoint, 'Degraded')?.message).toContain('spec.apiKeySecretRef');
    expect(condition(endpoint, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForPods' });
  });

  it('is garbage collected with its endpoint', async () => {
    const deleted = await cluster.kubectl(['delete', 'ie', 'chat', '-n', ns.name, '--wait=true', '--timeout=30s']);
    expect(deleted.code).toBe(0);
    await reconciler.reconcile(`${ns.name}/chat`);
    await waitFor('the children to be collected', async () => {
      const list = await apps.listNamespacedDeployment({ namespace: ns.name, labelSelector: 'inference.attested.dev/endpoint=chat' });
      return list.items.length === 0;
    }, { timeoutMs: 30_000, intervalMs: 250 });
  });
});
