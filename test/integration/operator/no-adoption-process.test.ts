import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type V1ObjectMeta } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound } from '../../../operator/controller/api-errors.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../../operator/resources/names.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, simulatorEndpointSpec } from './support.ts';

function identity(meta: V1ObjectMeta | undefined): Record<string, unknown> {
  return { uid: meta?.uid, resourceVersion: meta?.resourceVersion, labels: meta?.labels, ownerReferences: meta?.ownerReferences };
}

/**
 * The operator process reads children from informers that hold only objects labelled as its own,
 * as metadata: an unlabelled object of a child's name is absent there, a labelled copy is present.
 * Neither may be taken for the endpoint's.
 */
describe('the operator process never adopts, whatever its caches hold', () => {
  const cluster = testCluster();
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let logDir: string;
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await createNamespace(cluster.core, 'adopt-op');
    system = await createNamespace(cluster.core, 'adopt-op-system');
    logDir = await mkdtemp(join(tmpdir(), 'aio-operator-'));
    operator = await startOperatorProcess({ kubeconfig: cluster.kubeconfigPath, logDir, leaseNamespace: system.name, extraArgs: [`--namespaces=${ns.name}`] });
  });
  afterAll(async () => {
    await operator?.stop();
    await ns.remove();
    await system.remove();
    await simulator.close();
    await rm(logDir, { recursive: true, force: true });
  });

  const deploymentAbsent = async (name: string): Promise<boolean> => {
    try {
      await apps.readNamespacedDeployment({ namespace: ns.name, name });
      return false;
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
  };

  it('leaves an unlabelled Service and a labelled copy of a ServiceAccount alone, and converges once they are removed', async () => {
    const service = await core.createNamespacedService({ namespace: ns.name, body: { metadata: { name: 'chat' }, spec: { selector: { app: 'payments' }, ports: [{ name: 'web', port: 8080 }] } } });
    const account = await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'mail-proxy', labels: { [LABEL_MANAGED_BY]: MANAGED_BY } } } });
    await createEndpoint(cluster, ns.name, 'chat', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await createEndpoint(cluster, ns.name, 'mail', simulatorEndpointSpec(simulator, { replicas: 1 }));
    for (const [name, held] of [['chat', `Service ${ns.name}/chat`], ['mail', `ServiceAccount ${ns.name}/mail-proxy`]] as const) {
      await waitFor(`${name} to report NameConflict`, async () => condition(await readEndpoint(cluster, ns.name, name), 'Degraded')?.reason === 'NameConflict', { timeoutMs: 30_000, intervalMs: 250 });
      expect(condition(await readEndpoint(cluster, ns.name, name), 'Degraded')?.message).toContain(held);
      expect(await deploymentAbsent(`${name}-proxy`)).toBe(true);
    }
    expect(identity((await core.readNamespacedService({ namespace: ns.name, name: 'chat' })).metadata)).toEqual(identity(service.metadata));
    expect((await core.readNamespacedService({ namespace: ns.name, name: 'chat' })).spec?.selector).toEqual({ app: 'payments' });
    expect(identity((await core.readNamespacedServiceAccount({ namespace: ns.name, name: 'mail-proxy' })).metadata)).toEqual(identity(account.metadata));

    await core.deleteNamespacedService({ namespace: ns.name, name: 'chat' });
    await core.deleteNamespacedServiceAccount({ namespace: ns.name, name: 'mail-proxy' });
    // The operator looks again on its own: the removed objects were never in its caches' view as its own.
    const waited = await cluster.kubectl(['wait', '--for=condition=Ready', 'inferenceendpoint/chat', 'inferenceendpoint/mail', '-n', ns.name, '--timeout=90s']);
    expect(waited.stderr).toBe('');
    const chat = await readEndpoint(cluster, ns.name, 'chat');
    expect((await core.readNamespacedService({ namespace: ns.name, name: 'chat' })).metadata?.ownerReferences?.[0]?.uid).toBe(chat.metadata.uid);
    expect(condition(chat, 'Degraded')?.reason).toBe('Healthy');
  });
});
