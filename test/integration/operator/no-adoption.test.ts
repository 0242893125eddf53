import { AppsV1Api, CoreV1Api, type V1ObjectMeta } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound } from '../../../operator/controller/api-errors.ts';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../../operator/resources/names.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, recordingPort, simulatorEndpointSpec, waitForRollout, type RecordingPort, RECONCILER_OPTIONS } from './support.ts';

/** sameObject is what must not move on an object the operator does not own: identity, version, selector-relevant metadata. */
function identity(meta: V1ObjectMeta | undefined): Record<string, unknown> {
  return { uid: meta?.uid, resourceVersion: meta?.resourceVersion, labels: meta?.labels, ownerReferences: meta?.ownerReferences };
}

describe('the reconciler never adopts an object it did not create (real API server and garbage collector)', () => {
  const cluster = testCluster();
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let port: RecordingPort;
  let reconciler: EndpointReconciler;
  let watcher: AttestationWatcher;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await createNamespace(cluster.core, 'adopt');
    port = recordingPort(cluster);
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: () => undefined });
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

  const gone = async (read: () => Promise<unknown>): Promise<boolean> => {
    try {
      await read();
      return false;
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
  };

  it('leaves a foreign Service of the endpoint\'s name alone, writes no child, and says why', async () => {
    const theirs = await core.createNamespacedService({
      namespace: ns.name,
      body: { metadata: { name: 'chat', labels: { team: 'payments' } }, spec: { selector: { app: 'payments' }, ports: [{ name: 'web', port: 8080 }] } },
    });
    await createEndpoint(cluster, ns.name, 'chat', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await reconciler.reconcile(`${ns.name}/chat`).catch(() => undefined);

    const after = await core.readNamespacedService({ namespace: ns.name, name: 'chat' });
    expect(identity(after.metadata)).toEqual(identity(theirs.metadata));
    expect(after.spec?.selector).toEqual({ app: 'payments' });
    expect(after.spec?.ports?.map((p) => p.port)).toEqual([8080]);
    expect(await gone(() => apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' }))).toBe(true);
    expect(await gone(() => core.readNamespacedConfigMap({ namespace: ns.name, name: 'chat-proxy-config' }))).toBe(true);
    expect(await gone(() => core.readNamespacedServiceAccount({ namespace: ns.name, name: 'chat-proxy' }))).toBe(true);

    const endpoint = await readEndpoint(cluster, ns.name, 'chat');
    expect(condition(endpoint, 'Degraded')).toMatchObject({ status: 'True', reason: 'NameConflict' });
    expect(condition(endpoint, 'Degraded')?.message).toContain(`Service ${ns.name}/chat`);
    expect(port.events.some((e) => e.endpoint === 'chat' && e.type === 'Warning' && e.reason === 'NameConflict')).toBe(true);
  });

  it('leaves the foreign Service in place when the endpoint is deleted and the garbage collector has run', async () => {
    const before = await core.readNamespacedService({ namespace: ns.name, name: 'chat' });
    const endpoint = await readEndpoint(cluster, ns.name, 'chat');
    // A sentinel the endpoint does own: once the garbage collector removed it, it has processed the deletion.
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: 'chat-sentinel', ownerReferences: [{ apiVersion: endpoint.apiVersion, kind: endpoint.kind, name: 'chat', uid: endpoint.metadata.uid ?? '', controller: true }] } },
    });
    const deleted = await cluster.kubectl(['delete', 'ie', 'chat', '-n', ns.name, '--wait=true', '--timeout=30s']);
    expect(deleted.code).toBe(0);
    await reconciler.reconcile(`${ns.name}/chat`);
    await waitFor('the garbage collector to remove what the endpoint owned', () => gone(() => core.readNamespacedConfigMap({ namespace: ns.name, name: 'chat-sentinel' })), { timeoutMs: 30_000, intervalMs: 250 });
    const after = await core.readNamespacedService({ namespace: ns.name, name: 'chat' });
    expect(identity(after.metadata)).toEqual(identity(before.metadata));
    expect(after.spec?.selector).toEqual({ app: 'payments' });
  });

  it('leaves a foreign ConfigMap of a child\'s name alone, then converges once it is removed', async () => {
    const theirs = await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'notes-proxy-config' }, data: { 'proxy.yaml': 'theirs: true\n' } } });
    await createEndpoint(cluster, ns.name, 'notes', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await reconciler.reconcile(`${ns.name}/notes`).catch(() => undefined);

    const after = await core.readNamespacedConfigMap({ namespace: ns.name, name: 'notes-proxy-config' });
    expect(identity(after.metadata)).toEqual(identity(theirs.metadata));
    expect(after.data).toEqual({ 'proxy.yaml': 'theirs: true\n' });
    expect(await gone(() => core.readNamespacedService({ namespace: ns.name, name: 'notes' }))).toBe(true);
    expect(await gone(() => apps.readNamespacedDeployment({ namespace: ns.name, name: 'notes-proxy' }))).toBe(true);
    const blocked = await readEndpoint(cluster, ns.name, 'notes');
    expect(condition(blocked, 'Degraded')).toMatchObject({ status: 'True', reason: 'NameConflict' });
    expect(condition(blocked, 'Degraded')?.message).toContain(`ConfigMap ${ns.name}/notes-proxy-config`);

    await core.deleteNamespacedConfigMap({ namespace: ns.name, name: 'notes-proxy-config' });
    await waitFor('the ConfigMap to go', () => gone(() => core.readNamespacedConfigMap({ namespace: ns.name, name: 'notes-proxy-config' })), { timeoutMs: 30_000 });
    await reconciler.reconcile(`${ns.name}/notes`);
    const ours = await core.readNamespacedConfigMap({ namespace: ns.name, name: 'notes-proxy-config' });
    expect(ours.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'InferenceEndpoint', name: 'notes', uid: blocked.metadata.uid, controller: true });
    expect(ours.data?.['proxy.yaml']).toContain(simulator.url);
    await waitForRollout(cluster, ns.name, 'notes-proxy', 1);
    await reconciler.reconcile(`${ns.name}/notes`);
    const ready = await readEndpoint(cluster, ns.name, 'notes');
    expect(condition(ready, 'Ready')).toMatchObject({ status: 'True', reason: 'ProxyPodsReady' });
    expect(condition(ready, 'Degraded')).toMatchObject({ status: 'False', reason: 'Healthy' });
  });

  it('creates children so that a later apply still removes what the desired state drops (field ownership is the operator\'s apply)', async () => {
    const cm = await core.readNamespacedConfigMap({ namespace: ns.name, name: 'notes-proxy-config' });
    const managers = (cm.metadata?.managedFields ?? []).filter((f) => f.manager === 'attested-inference-operator').map((f) => f.operation);
    expect(managers).toEqual(['Apply']);
  });

  it('treats a copy of its labels on an object controlled by another endpoint as a conflict', async () => {
    await createEndpoint(cluster, ns.name, 'other', simulatorEndpointSpec(simulator, { replicas: 0 }));
    const other = await readEndpoint(cluster, ns.name, 'other');
    const copied = await core.createNamespacedServiceAccount({
      namespace: ns.name,
      body: {
        metadata: {
          name: 'mimic-proxy',
          labels: { [LABEL_MANAGED_BY]: MANAGED_BY, 'inference.attested.dev/endpoint': 'mimic' },
          ownerReferences: [{ apiVersion: other.apiVersion, kind: other.kind, name: 'other', uid: other.metadata.uid ?? '', controller: true }],
        },
      },
    });
    await createEndpoint(cluster, ns.name, 'mimic', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await reconciler.reconcile(`${ns.name}/mimic`).catch(() => undefined);
    const after = await core.readNamespacedServiceAccount({ namespace: ns.name, name: 'mimic-proxy' });
    expect(identity(after.metadata)).toEqual(identity(copied.metadata));
    expect(await gone(() => apps.readNamespacedDeployment({ namespace: ns.name, name: 'mimic-proxy' }))).toBe(true);
    const endpoint = await readEndpoint(cluster, ns.name, 'mimic');
    expect(condition(endpoint, 'Degraded')).toMatchObject({ status: 'True', reason: 'NameConflict' });
    expect(condition(endpoint, 'Degraded')?.message).toContain(`ServiceAccount ${ns.name}/mimic-proxy`);
    expect(condition(endpoint, 'Degraded')?.message).toContain('InferenceEndpoint other');
  });

  it('waits for the garbage collector when a recreated endpoint finds its predecessor\'s children, then creates its own', async () => {
    await createEndpoint(cluster, ns.name, 'again', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await reconciler.reconcile(`${ns.name}/again`);
    const first = await readEndpoint(cluster, ns.name, 'again');
    // A finalizer holds one old child while the garbage collector deletes it, so the predecessor's child is certainly still there.
    await core.patchNamespacedConfigMap({ namespace: ns.name, name: 'again-proxy-config', body: [{ op: 'add', path: '/metadata/finalizers', value: ['test.attested.dev/hold'] }] });
    expect((await cluster.kubectl(['delete', 'ie', 'again', '-n', ns.name, '--wait=true', '--timeout=30s'])).code).toBe(0);
    await reconciler.reconcile(`${ns.name}/again`);
    await waitFor('the garbage collector to delete the old children', async () => (await core.readNamespacedConfigMap({ namespace: ns.name, name: 'again-proxy-config' })).metadata?.deletionTimestamp !== undefined, { timeoutMs: 30_000, intervalMs: 250 });
    await waitFor('the old Deployment to go', () => gone(() => apps.readNamespacedDeployment({ namespace: ns.name, name: 'again-proxy' })), { timeoutMs: 30_000, intervalMs: 250 });

    await createEndpoint(cluster, ns.name, 'again', simulatorEndpointSpec(simulator, { replicas: 1 }));
    const writes = { ...port.writes };
    const outcome = await reconciler.reconcile(`${ns.name}/again`);
    expect({ apply: port.writes.apply, create: port.writes.create }).toEqual({ apply: writes.apply, create: writes.create });
    expect(outcome.requeueAfterMs).toBeGreaterThan(0);
    expect(await gone(() => apps.readNamespacedDeployment({ namespace: ns.name, name: 'again-proxy' }))).toBe(true);
    const waiting = await readEndpoint(cluster, ns.name, 'again');
    expect(condition(waiting, 'Degraded')?.reason).not.toBe('NameConflict');

    await core.patchNamespacedConfigMap({ namespace: ns.name, name: 'again-proxy-config', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await waitFor('the old ConfigMap to go', () => gone(() => core.readNamespacedConfigMap({ namespace: ns.name, name: 'again-proxy-config' })), { timeoutMs: 30_000 });
    await reconciler.reconcile(`${ns.name}/again`);
    const second = await readEndpoint(cluster, ns.name, 'again');
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    const deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'again-proxy' });
    expect(deployment.metadata?.ownerReferences?.[0]?.uid).toBe(second.metadata.uid);
    expect((await core.readNamespacedConfigMap({ namespace: ns.name, name: 'again-proxy-config' })).metadata?.ownerReferences?.[0]?.uid).toBe(second.metadata.uid);
  });
});
