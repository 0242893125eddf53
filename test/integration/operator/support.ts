import { join } from 'node:path';
import { AppsV1Api, CustomObjectsApi, type CoreV1Event, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { CRD_FILE } from '../../../operator/api/v1alpha1/crd.ts';
import { CRD_NAME, GROUP, PLURAL, VERSION, type InferenceEndpoint } from '../../../operator/api/v1alpha1/types.ts';
import type { EndpointReconcilerDeps } from '../../../operator/reconcile/endpoint.ts';
import type { ClusterPort } from '../../../operator/reconcile/port.ts';
import { kubernetesPort } from '../../../operator/reconcile/cluster.ts';
import type { EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import type { TestCluster } from '../cluster.ts';

const root = join(import.meta.dirname, '..', '..', '..');

/** installCrd applies the generated CRD and waits until the API server serves it. */
export async function installCrd(cluster: TestCluster): Promise<void> {
  const applied = await cluster.kubectl(['apply', '--server-side', '-f', join(root, CRD_FILE)]);
  if (applied.code !== 0) throw new Error(applied.stderr);
  const established = await cluster.kubectl(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=60s']);
  if (established.code !== 0) throw new Error(established.stderr);
}

/** simulatorEndpointSpec is an endpoint spec that trusts a local enclave simulator (Development trust). */
export function simulatorEndpointSpec(simulator: EnclaveSimulator, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { attestation, ...rest } = extra as { attestation?: object };
  return {
    provider: 'tinfoil',
    upstream: { url: simulator.url },
    apiKeySecretRef: { name: 'provider-key' },
    attestation: { trust: 'Development', developmentPublicKey: simulator.developmentPublicKeyPem, bundleUrl: simulator.url, recheckInterval: '10s', ...attestation },
    replicas: 2,
    ...rest,
  };
}

/** RecordingPort wraps the real ClusterPort and counts its writes and Events. */
export interface RecordingPort extends ClusterPort {
  writes: { apply: number; create: number; status: number };
  events: { type: string; reason: string; message: string; endpoint: string }[];
}

export function recordingPort(cluster: TestCluster): RecordingPort {
  const events: RecordingPort['events'] = [];
  const real = kubernetesPort(cluster.kc, (endpoint, type, reason, message) => events.push({ type, reason, message, endpoint: endpoint.metadata.name ?? '' }));
  const writes = { apply: 0, create: 0, status: 0 };
  return {
    ...real,
    writes,
    events,
    apply: (object: KubernetesObject) => {
      writes.apply += 1;
      return real.apply(object);
    },
    create: (object: KubernetesObject) => {
      writes.create += 1;
      return real.create(object);
    },
    writeStatus: (endpoint, status) => {
      writes.status += 1;
      return real.writeStatus(endpoint, status);
    },
    mountFailures: (namespace: string, prefix: string): Promise<CoreV1Event[]> => real.mountFailures(namespace, prefix),
  };
}

export async function createEndpoint(cluster: TestCluster, namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'InferenceEndpoint', metadata: { name }, spec } });
}

export async function readEndpoint(cluster: TestCluster, namespace: string, name: string): Promise<InferenceEndpoint> {
  return (await cluster.kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name })) as InferenceEndpoint;
}

export function condition(endpoint: InferenceEndpoint, type: string): { status: string; reason: string; message: string } | undefined {
  return endpoint.status?.conditions?.find((c) => c.type === type);
}

/** waitForRollout waits until the Deployment's pods all run its current template and are ready (simulated nodes). */
export async function waitForRollout(cluster: TestCluster, namespace: string, name: string, replicas: number): Promise<V1Deployment> {
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let latest: V1Deployment | undefined;
  await waitFor(`deployment ${name} to roll out`, async () => {
    latest = await apps.readNamespacedDeployment({ namespace, name });
    const s = latest.status;
    const done = (s?.observedGeneration ?? 0) >= (latest.metadata?.generation ?? 1) && s?.updatedReplicas === replicas && s.readyReplicas === replicas && s.replicas === replicas;
    if (!done) throw new Error(`status ${JSON.stringify(s)}`);
    return done;
  }, { timeoutMs: 60_000, intervalMs: 250 });
  return latest!;
}

/**
 * reconcileUntilDeployed reconciles `namespace/name` until its proxy Deployment exists. A new
 * endpoint's first pass holds the Deployment back while its upstream's first verification is
 * pending; in the operator that verification's arrival requeues the endpoint, which a test that
 * calls the reconciler by hand does here instead.
 */
export async function reconcileUntilDeployed(cluster: TestCluster, reconciler: { reconcile(key: string): Promise<unknown> }, namespace: string, name: string): Promise<void> {
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  await waitFor(`the first verification to let ${namespace}/${name} create its Deployment`, async () => {
    await reconciler.reconcile(`${namespace}/${name}`);
    return apps.readNamespacedDeployment({ namespace, name: `${name}-proxy` }).then(() => true, () => false);
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

/**
 * RECONCILER_OPTIONS are the operator-level options the reconciler tests run with: a local proxy
 * image, and development trust allowed (as --allow-development-trust) for the enclave simulator.
 */
export const RECONCILER_OPTIONS: EndpointReconcilerDeps['options'] = { image: { image: 'registry.local/attested-inference-proxy:test', pullPolicy: 'Never' }, tokenReviewClusterRole: 'attested-inference-tokenreview', apiServerPorts: [443], allowDevelopmentTrust: true };

/** SERVICE_MONITOR_CRD stands in for the Prometheus operator's CRD: the operator only needs it served. */
export const SERVICE_MONITOR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { plural: 'servicemonitors', singular: 'servicemonitor', kind: 'ServiceMonitor' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } }],
  },
};
