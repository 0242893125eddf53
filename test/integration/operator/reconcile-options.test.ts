import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, AppsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { watchServiceMonitorSupport } from '../../../operator/reconcile/discovery.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { ANNOTATION_CONFIG_HASH } from '../../../operator/resources/names.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startOperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, reconcileUntilDeployed, recordingPort, simulatorEndpointSpec, waitForRollout, RECONCILER_OPTIONS, SERVICE_MONITOR_CRD } from './support.ts';

describe('reconcile options on the real API server', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  const watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: () => undefined });
  const monitors = watchServiceMonitorSupport(cluster.kc);
  const reconciler = new EndpointReconciler({
    port: recordingPort(cluster),
    watcher,
    now: () => new Date(),
    serviceMonitor: () => monitors.supported(),
    options: RECONCILER_OPTIONS,
  });

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await createNamespace(cluster.core, 'options');
  });
  afterAll(async () => {
    watcher.stop();
    monitors.stop();
    await ns.remove();
    await simulator.close();
  });

  it('rolls the pods when the spec changes what the proxy is configured with', async () => {
    await createEndpoint(cluster, ns.name, 'limits', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await reconcileUntilDeployed(cluster, reconciler, ns.name, 'limits');
    const first = await waitForRollout(cluster, ns.name, 'limits-proxy', 1);
    const hash = first.spec?.template.metadata?.annotations?.[ANNOTATION_CONFIG_HASH];
    const patched = await cluster.kubectl(['patch', 'ie', 'limits', '-n', ns.name, '--type=merge', '-p', '{"spec":{"rateLimits":{"requestsPerMinute":30}}}']);
    expect(patched.code).toBe(0);
    await reconciler.reconcile(`${ns.name}/limits`);
    const rolled = await waitForRollout(cluster, ns.name, 'limits-proxy', 1);
    expect(rolled.spec?.template.metadata?.annotations?.[ANNOTATION_CONFIG_HASH]).not.toBe(hash);
    expect(rolled.metadata?.generation).toBeGreaterThan(first.metadata?.generation ?? 0);
    await reconciler.reconcile(`${ns.name}/limits`);
    expect((await readEndpoint(cluster, ns.name, 'limits')).status?.observedGeneration).toBe(2);
  });

  it('creates a ServiceMonitor only once the cluster serves that CRD', async () => {
    expect(await monitors.refresh()).toBe(false);
    const ext = cluster.kc.makeApiClient(ApiextensionsV1Api);
    // kubectl, not client-node: its model drops the JSON name x-kubernetes-preserve-unknown-fields.
    const created = await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(SERVICE_MONITOR_CRD));
    expect(created.stderr).toBe('');
    try {
      await waitFor('the ServiceMonitor CRD to be served', () => monitors.refresh(), { timeoutMs: 30_000, intervalMs: 250 });
      // Right after a CRD appears the API server may still answer 500 to server-side apply of its
      // kind; the operator's work queue retries with backoff, and so does this test.
      await waitFor('the reconcile to apply the ServiceMonitor', async () => (await reconciler.reconcile(`${ns.name}/limits`), true), { timeoutMs: 30_000, intervalMs: 500 });
      const monitor = (await cluster.kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'monitoring.coreos.com', version: 'v1', plural: 'servicemonitors', namespace: ns.name, name: 'limits-proxy' })) as { spec: { endpoints: { port: string }[] }; metadata: { ownerReferences: { name: string }[] } };
      expect(monitor.spec.endpoints[0]?.port).toBe('metrics');
      expect(monitor.metadata.ownerReferences[0]?.name).toBe('limits');
    } finally {
      await ext.deleteCustomResourceDefinition({ name: SERVICE_MONITOR_CRD.metadata.name });
    }
  });

  it('leaves namespaces outside its configured set alone', async () => {
    const other = await createNamespace(cluster.core, 'outside');
    const system = await createNamespace(cluster.core, 'scoped-system');
    const logDir = await mkdtemp(join(tmpdir(), 'aio-scoped-'));
    const operator = await startOperatorProcess({ kubeconfig: cluster.kubeconfigPath, logDir, leaseNamespace: system.name, name: 'scoped', extraArgs: [`--namespaces=${ns.name}`] });
    try {
      await createEndpoint(cluster, other.name, 'ignored', simulatorEndpointSpec(simulator, { replicas: 1 }));
      await createEndpoint(cluster, ns.name, 'watched', simulatorEndpointSpec(simulator, { replicas: 1 }));
      await waitFor('the watched endpoint to be Ready', async () => condition(await readEndpoint(cluster, ns.name, 'watched'), 'Ready')?.status === 'True', { timeoutMs: 60_000, intervalMs: 250 });
      expect((await readEndpoint(cluster, other.name, 'ignored')).status).toBeUndefined();
      expect((await apps.listNamespacedDeployment({ namespace: other.name })).items).toEqual([]);
    } finally {
      await operator.stop();
      await other.remove();
      await system.remove();
      await rm(logDir, { recursive: true, force: true });
    }
  });
});
