import { AppsV1Api, AutoscalingV2Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION, type InferenceEndpoint } from '../../../operator/api/v1alpha1/types.ts';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { ANNOTATION_CHANGE_CAUSE } from '../../../operator/resources/change-cause.ts';
import { endpointReady } from '../../../operator/webhook/decision.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, recordingPort, RECONCILER_OPTIONS, simulatorEndpointSpec } from './support.ts';

/**
 * What the status means while things change, on the real API server, controller-manager
 * (Deployment, ReplicaSet, EndpointSlice and HPA controllers) and simulated nodes: Ready and
 * Available follow the rollout of the current generation, observedGeneration stays behind a failed
 * child write, a rollout a ResourceQuota blocks is Degraded, and the scale subresource works for
 * kubectl scale and a HorizontalPodAutoscaler.
 */
describe('the endpoint status under change', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let reconciler: EndpointReconciler;
  let watcher: AttestationWatcher;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await createNamespace(cluster.core, 'status');
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: () => undefined });
    reconciler = new EndpointReconciler({ port: recordingPort(cluster), watcher, now: () => new Date(), options: RECONCILER_OPTIONS });
  });
  afterAll(async () => {
    watcher.stop();
    await ns.remove();
    await simulator.close();
  });

  /** reconcileUntil reconciles `name` (as the controller would on each change) until `done` holds for its stored status. */
  async function reconcileUntil(name: string, what: string, done: (e: InferenceEndpoint) => boolean, timeoutMs = 60_000): Promise<InferenceEndpoint> {
    let latest: InferenceEndpoint | undefined;
    await waitFor(what, async () => {
      await reconciler.reconcile(`${ns.name}/${name}`).catch(() => undefined);
      latest = await readEndpoint(cluster, ns.name, name);
      if (!done(latest)) throw new Error(JSON.stringify(latest.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}@${String(c.observedGeneration)}`)));
      return true;
    }, { timeoutMs, intervalMs: 300 });
    return latest!;
  }

  /** apply creates or updates objects with kubectl, as a user would. */
  const apply = (objects: readonly object[]): ReturnType<typeof cluster.kubectl> => cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));

  const is = (type: string, status: string) => (e: InferenceEndpoint): boolean => condition(e, type)?.status === status;

  async function patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.name, name, body: { spec } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }

  it('is Available only after Ready, Attested and routable, and kubectl wait for Available returns then', async () => {
    await createEndpoint(cluster, ns.name, 'chat', simulatorEndpointSpec(simulator));
    const available = await reconcileUntil('chat', 'chat Available', is('Available', 'True'));
    expect(condition(available, 'Ready')).toMatchObject({ status: 'True', reason: 'ProxyPodsReady' });
    expect(condition(available, 'Attested')?.status).toBe('True');
    expect(condition(available, 'Available')).toMatchObject({ reason: 'Serving' });
    const slices = (await cluster.kubectl(['get', 'endpointslices', '-n', ns.name, '-l', 'kubernetes.io/service-name=chat', '-o', 'jsonpath={.items[*].endpoints[*].conditions.ready}'])).stdout;
    expect(slices.split(' ').filter((r) => r === 'true')).toHaveLength(2);
    const waited = await cluster.kubectl(['wait', '--for=condition=Available', 'ie/chat', '-n', ns.name, '--timeout=10s']);
    expect(waited.code, waited.stderr).toBe(0);
    expect(available.status).toMatchObject({ replicas: 2, selector: 'app.kubernetes.io/instance=chat,app.kubernetes.io/name=attested-inference-proxy' });
  });

  it('is not Ready right after a template change: the ready pods are the old template\'s', async () => {
    await patchSpec('chat', { proxy: { podTemplate: { annotations: { 'example.com/revision': '2' } } } });
    await reconciler.reconcile(`${ns.name}/chat`);
    const right = await readEndpoint(cluster, ns.name, 'chat');
    expect(right.status?.observedGeneration).toBe(right.metadata.generation);
    expect(condition(right, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForRollout' });
    expect(condition(right, 'Available')).toMatchObject({ status: 'False', reason: 'ProxyNotReady' });
    const rolled = await reconcileUntil('chat', 'chat Available again', is('Available', 'True'));
    const deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' });
    expect(deployment.status?.updatedReplicas).toBe(2);
    expect(deployment.status?.replicas).toBe(2);
    expect(rolled.status?.conditions?.find((c) => c.type === 'Ready')?.observedGeneration).toBe(rolled.metadata.generation);
  });

  it('says in kubectl rollout history why the template changed', async () => {
    const deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' });
    expect(deployment.metadata?.annotations?.[ANNOTATION_CHANGE_CAUSE]).toMatch(/^attested-inference-operator: spec changed, InferenceEndpoint generation 2 /);
    const history = await cluster.kubectl(['rollout', 'history', 'deployment/chat-proxy', '-n', ns.name]);
    expect(history.stdout).toContain('created for InferenceEndpoint generation 1');
    expect(history.stdout).toContain('spec changed, InferenceEndpoint generation 2');
  });

  it('keeps observedGeneration behind while a child write fails, says why, and the webhook does not inject that generation', async () => {
    const policy = `vap-${ns.name}`;
    // An admission policy that refuses every change to the endpoint's sidecar ConfigMap: the write of the new generation fails.
    const applied = await apply([
      { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: policy }, spec: { failurePolicy: 'Fail', matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['configmaps'] }] }, matchConditions: [{ name: 'sidecar-config', expression: `object.metadata.namespace == '${ns.name}' && object.metadata.name == 'chat-proxy-sidecar-config'` }], validations: [{ expression: 'false', message: 'sidecar configuration frozen by the test' }] } },
      { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: policy }, spec: { policyName: policy, validationActions: ['Deny'] } },
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    try {
      const before = (await readEndpoint(cluster, ns.name, 'chat')).status?.observedGeneration;
      await waitFor('the policy to refuse the sidecar ConfigMap', async () => {
        const r = await cluster.kubectl(['annotate', 'configmap', 'chat-proxy-sidecar-config', '-n', ns.name, 'probe=1', '--overwrite']);
        return r.code !== 0 && r.stderr.includes('frozen');
      }, { timeoutMs: 30_000, intervalMs: 500 });
      await patchSpec('chat', { rateLimits: { requestsPerMinute: 77 } });
      await expect(reconciler.reconcile(`${ns.name}/chat`)).rejects.toThrow(/frozen/);
      const failed = await readEndpoint(cluster, ns.name, 'chat');
      expect(failed.metadata.generation).toBeGreaterThan(before ?? 0);
      expect(failed.status?.observedGeneration).toBe(before);
      expect(failed.status?.conditions?.every((c) => c.observedGeneration === before)).toBe(true);
      expect(condition(failed, 'Degraded')).toMatchObject({ status: 'True', reason: 'ReconcileError' });
      expect(condition(failed, 'Degraded')?.message).toContain('frozen');
      expect(endpointReady(failed)).toBe(false);
      const waited = await cluster.kubectl(['wait', '--for=condition=Available', 'ie/chat', '-n', ns.name, '--timeout=3s']);
      expect(waited.code).not.toBe(0);
    } finally {
      await cluster.kubectl(['delete', 'validatingadmissionpolicybinding', policy, '--ignore-not-found']);
      await cluster.kubectl(['delete', 'validatingadmissionpolicy', policy, '--ignore-not-found']);
    }
    const recovered = await reconcileUntil('chat', 'the generation to be observed once the write succeeds', (e) => e.status?.observedGeneration === e.metadata.generation && is('Degraded', 'False')(e));
    expect(endpointReady(recovered)).toBe(true);
  });

  it('is Degraded RolloutStuck with the quota message when a ResourceQuota forbids the surge pod', async () => {
    await createEndpoint(cluster, ns.name, 'quota', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await reconcileUntil('quota', 'quota Available', is('Available', 'True'));
    const pods = (await cluster.kubectl(['get', 'pods', '-n', ns.name, '--no-headers', '-o', 'name'])).stdout.trim().split('\n').filter((l) => l !== '').length;
    const quota = await apply([{ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-surge', namespace: ns.name }, spec: { hard: { pods: String(pods) } } }]);
    expect(quota.code, quota.stderr).toBe(0);
    try {
      await waitFor('the quota to count the pods', async () => (await cluster.kubectl(['get', 'resourcequota', 'no-surge', '-n', ns.name, '-o', 'jsonpath={.status.used.pods}'])).stdout === String(pods), { timeoutMs: 30_000 });
      await patchSpec('quota', { proxy: { podTemplate: { annotations: { 'example.com/revision': '2' } } } });
      const stuck = await reconcileUntil('quota', 'quota Degraded RolloutStuck', (e) => condition(e, 'Degraded')?.reason === 'RolloutStuck');
      expect(condition(stuck, 'Degraded')?.status).toBe('True');
      expect(condition(stuck, 'Degraded')?.message).toMatch(/ReplicaFailure FailedCreate: .*exceeded quota: no-surge/);
      expect(condition(stuck, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForRollout' });
    } finally {
      await cluster.kubectl(['delete', 'resourcequota', 'no-surge', '-n', ns.name, '--ignore-not-found']);
    }
    await reconcileUntil('quota', 'quota to finish rolling once the quota is gone', (e) => is('Available', 'True')(e) && is('Degraded', 'False')(e), 90_000);
  });

  it('scales with kubectl scale through the scale subresource', async () => {
    const scaled = await cluster.kubectl(['scale', 'ie/chat', '-n', ns.name, '--replicas=3']);
    expect(scaled.code, scaled.stderr).toBe(0);
    const endpoint = await reconcileUntil('chat', 'chat at 3 replicas', (e) => e.status?.replicas === 3 && is('Available', 'True')(e));
    expect(endpoint.spec.replicas).toBe(3);
    expect((await apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' })).spec?.replicas).toBe(3);
    const scale = await cluster.kubectl(['get', '--raw', `/apis/${GROUP}/${VERSION}/namespaces/${ns.name}/${PLURAL}/chat/scale`]);
    expect(JSON.parse(scale.stdout)).toMatchObject({ kind: 'Scale', spec: { replicas: 3 }, status: { replicas: 3, selector: 'app.kubernetes.io/instance=chat,app.kubernetes.io/name=attested-inference-proxy' } });
  });

  it('is scaled by a HorizontalPodAutoscaler whose minReplicas is above the current count', async () => {
    const hpa = cluster.kc.makeApiClient(AutoscalingV2Api);
    await hpa.createNamespacedHorizontalPodAutoscaler({
      namespace: ns.name,
      body: {
        metadata: { name: 'chat' },
        spec: {
          scaleTargetRef: { apiVersion: `${GROUP}/${VERSION}`, kind: 'InferenceEndpoint', name: 'chat' },
          minReplicas: 4,
          maxReplicas: 5,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
        },
      },
    });
    // The HPA controller raises a target below minReplicas without needing any metric (it syncs every 15 s).
    const endpoint = await reconcileUntil('chat', 'the HPA to raise chat to 4', (e) => e.spec.replicas === 4 && e.status?.replicas === 4, 90_000);
    expect((await apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' })).spec?.replicas).toBe(4);
    expect(endpoint.status?.observedGeneration).toBe(endpoint.metadata.generation);
    const status = await hpa.readNamespacedHorizontalPodAutoscaler({ namespace: ns.name, name: 'chat' });
    expect(status.status?.desiredReplicas).toBe(4);
  });
});
