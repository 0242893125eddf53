import { AppsV1Api, type V1Deployment } from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { kubernetesSidecarRoller } from '../../../operator/webhook/rollout.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { testCluster } from '../cluster.ts';
import { createEndpoint, installCrd, recordingPort, simulatorEndpointSpec, RECONCILER_OPTIONS } from '../operator/support.ts';
import { appNamespace, type RecordedEvent } from './support.ts';

const DIGEST = 'inference.attested.dev/release-digest';

function workload(name: string, annotations: Record<string, string>, podAnnotations: Record<string, string>): V1Deployment {
  return {
    metadata: { name, annotations },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations: podAnnotations }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.local/app:1' }] } },
    },
  };
}

describe('rolling injected workloads when the attested release changes', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let simulator: EnclaveSimulator;
  let watcher: AttestationWatcher;
  let ns: Awaited<ReturnType<typeof appNamespace>>;
  const events: RecordedEvent[] = [];
  const rollouts: Promise<void>[] = [];
  const updates: string[][] = [];

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await appNamespace(cluster, 'roll', { optedIn: false });
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: (keys) => updates.push([...keys]) });
  });
  afterAll(async () => {
    watcher.stop();
    await ns.remove();
    await simulator.close();
  });

  it("patches the pod template of workloads that opted in, and tells the namespace about the others", async () => {
    const roll = kubernetesSidecarRoller(cluster.kc, (regarding, type, reason, message) => events.push({ regarding, type, reason, message }), pino({ level: 'silent' }));
    const reconciler = new EndpointReconciler({
      port: recordingPort(cluster),
      watcher,
      now: () => new Date(),
      options: RECONCILER_OPTIONS,
      onRollout: (endpoint, rollout) => rollouts.push(roll(endpoint, rollout)),
    });
    await createEndpoint(cluster, ns.name, 'chat', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await reconciler.reconcile(`${ns.name}/chat`);
    // The first reconcile does not wait for the upstream's first verification; its arrival requeues the endpoint.
    await waitFor('the first verification', () => Promise.resolve(updates.some((keys) => keys.includes(`${ns.name}/chat`))), { timeoutMs: 30_000, intervalMs: 100 });
    await reconciler.reconcile(`${ns.name}/chat`);
    // Workloads are created unmutated (no webhook here): the roller reads their pod-template opt-in like the webhook would.
    await apps.createNamespacedDeployment({ namespace: ns.name, body: workload('opted', { 'inference.attested.dev/restart-on-attestation-change': 'true' }, { 'inference.attested.dev/inject': 'chat' }) });
    await apps.createNamespacedDeployment({ namespace: ns.name, body: workload('quiet', {}, { 'inference.attested.dev/inject': 'chat' }) });
    await apps.createNamespacedDeployment({ namespace: ns.name, body: workload('unrelated', { 'inference.attested.dev/restart-on-attestation-change': 'true' }, {}) });

    const after = simulator.switchRelease().releaseDigest;
    updates.length = 0;
    await waitFor('the watcher to see the new release', () => Promise.resolve(updates.some((keys) => keys.includes(`${ns.name}/chat`))), { timeoutMs: 30_000, intervalMs: 100 });
    await reconciler.reconcile(`${ns.name}/chat`);
    expect(rollouts).toHaveLength(1);
    await Promise.all(rollouts);

    const read = async (name: string): Promise<V1Deployment> => apps.readNamespacedDeployment({ namespace: ns.name, name });
    expect((await read('opted')).spec!.template.metadata!.annotations![DIGEST]).toBe(after);
    expect((await read('opted')).metadata!.generation).toBe(2);
    expect((await read('quiet')).spec!.template.metadata!.annotations![DIGEST]).toBeUndefined();
    expect((await read('unrelated')).spec!.template.metadata!.annotations?.[DIGEST]).toBeUndefined();
    expect(events).toContainEqual(expect.objectContaining({ reason: 'SidecarReleaseChanged', regarding: expect.objectContaining({ kind: 'Deployment', metadata: expect.objectContaining({ name: 'opted' }) as unknown }) as unknown }));
    const notice = events.find((e) => e.regarding.kind === 'Namespace');
    expect(notice?.message).toContain('deployment/quiet');
    expect(notice?.message).not.toContain('deployment/opted');
    expect(notice?.message).toContain(after);
  });
});
