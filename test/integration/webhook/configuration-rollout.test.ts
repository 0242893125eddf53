import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, AppsV1Api, CustomObjectsApi, EventsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../../operator/api/v1alpha1/types.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { freePort, waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { createEndpoint, installCrd } from '../operator/support.ts';
import { appNamespace } from './support.ts';

const CONFIGURATION = 'inference.attested.dev/sidecar-configuration';
const CONFIGURATION_NAME = 'configuration-rollout-injector';

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

/** The operator process reconciles the endpoint itself, so its sidecar ConfigMap changes as it would on a cluster. */
describe('a change of an endpoint’s sidecar configuration reaches injected workloads', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let ns: Awaited<ReturnType<typeof appNamespace>>;
  let logDir: string;
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await installCrd(cluster);
    system = await createNamespace(cluster.core, 'cfgroll-system');
    ns = await appNamespace(cluster, 'cfgroll', { optedIn: false });
    logDir = await mkdtemp(join(tmpdir(), 'aio-configuration-rollout-'));
  });
  afterAll(async () => {
    await operator?.stop();
    await cluster.kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: CONFIGURATION_NAME }).catch(() => undefined);
    await ns.remove();
    await system.remove();
    await rm(logDir, { recursive: true, force: true });
  });

  const observed = async (): Promise<number | undefined> => ((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.name, name: 'chat' })) as { status?: { observedGeneration?: number } }).status?.observedGeneration;
  const template = async (name: string): Promise<Record<string, string>> => (await apps.readNamespacedDeployment({ namespace: ns.name, name })).spec?.template.metadata?.annotations ?? {};

  it('rolls the workloads that opted in and tells the namespace about the others', async () => {
    await createEndpoint(cluster, ns.name, 'chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'provider-key' } });
    await apps.createNamespacedDeployment({ namespace: ns.name, body: workload('opted', { 'inference.attested.dev/restart-on-attestation-change': 'true' }, { 'inference.attested.dev/inject': 'chat' }) });
    await apps.createNamespacedDeployment({ namespace: ns.name, body: workload('quiet', {}, { 'inference.attested.dev/inject': 'chat' }) });
    await apps.createNamespacedDeployment({ namespace: ns.name, body: workload('unrelated', { 'inference.attested.dev/restart-on-attestation-change': 'true' }, {}) });
    const port = await freePort();
    operator = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath,
      logDir,
      leaseNamespace: system.name,
      name: 'configuration-operator',
      extraArgs: [`--webhook-url=https://127.0.0.1:${String(port)}`, `--webhook-port=${String(port)}`, '--webhook-host=127.0.0.1', `--webhook-configuration-name=${CONFIGURATION_NAME}`, '--webhook-drain-seconds=0'],
    });
    await waitFor('the endpoint to be reconciled', async () => (await observed()) === 1, { timeoutMs: 30_000, intervalMs: 200, process: operator.process });
    // The operator starting rolls nobody.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await template('opted'))[CONFIGURATION]).toBeUndefined();

    // A change of what the sidecar runs with (its model allow-list), not of the attested release.
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.name, name: 'chat', body: { spec: { models: { allowed: ['llama3-3-70b'] } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await waitFor('the opted-in workload to be rolled', async () => (await template('opted'))[CONFIGURATION] !== undefined, { timeoutMs: 30_000, intervalMs: 200, process: operator.process });
    expect((await apps.readNamespacedDeployment({ namespace: ns.name, name: 'opted' })).metadata!.generation).toBe(2);
    expect((await template('quiet'))[CONFIGURATION]).toBeUndefined();
    expect((await template('unrelated'))[CONFIGURATION]).toBeUndefined();
    const events = cluster.kc.makeApiClient(EventsV1Api);
    await waitFor('the namespace Event naming the workloads left alone', async () => {
      const list = await events.listNamespacedEvent({ namespace: ns.name });
      const notice = list.items.find((e) => e.reason === 'SidecarConfigurationChanged' && e.regarding?.kind === 'Namespace');
      return notice?.note?.includes('deployment/quiet') === true && notice.note.includes('older configuration') && !notice.note.includes('deployment/opted');
    }, { timeoutMs: 20_000, intervalMs: 250 });

    // The operator's own status writes that follow change nothing the sidecar runs: no second roll.
    const rolledTo = (await template('opted'))[CONFIGURATION];
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await template('opted'))[CONFIGURATION]).toBe(rolledTo);
    expect((await apps.readNamespacedDeployment({ namespace: ns.name, name: 'opted' })).metadata!.generation).toBe(2);
  });
});
