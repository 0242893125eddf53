import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../../operator/api/v1alpha1/types.ts';
import { ANNOTATION_INJECTION_STATUS, ANNOTATION_RELEASE_DIGEST, ANNOTATION_RESTART_ON_ATTESTATION_CHANGE, LABEL_INJECTION } from '../../../operator/resources/names.ts';
import { startControlPlane } from '../../harness/control-plane.ts';
import type { EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { tokenKubeconfig } from '../../harness/kubeconfig.ts';
import { waitFor } from '../../harness/processes.ts';
import type { TestCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, SERVICE_MONITOR_CRD, simulatorEndpointSpec } from '../operator/support.ts';
import { CHART_DIR, expectOk, parseObjects, type Rendered } from './chart.ts';

/** AuditedCluster is a control plane of the test's own whose API server logs every request. */
export interface AuditedCluster extends TestCluster {
  readonly auditLog: string;
  readonly caPem: string;
  stop(): Promise<void>;
}

/**
 * startAuditedCluster starts it with the operator's CRD and a minimal ServiceMonitor CRD installed.
 * OwnerReferencesPermissionEnforcement is on, as on clusters that enforce it: a child write that
 * sets blockOwnerDeletion then needs update on the endpoint's finalizers, and is refused without.
 */
export async function startAuditedCluster(): Promise<AuditedCluster> {
  const plane = await startControlPlane({ audit: true, nodes: 1, admissionPlugins: ['OwnerReferencesPermissionEnforcement'] });
  const kc = plane.kubeConfig();
  const cluster: AuditedCluster = {
    kubeconfigPath: plane.kubeconfigPath,
    server: plane.server,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    kubectl: (args, input) => plane.kubectl(args, input),
    helm: (args) => plane.helm(args),
    auditLog: plane.auditLog ?? '',
    caPem: plane.caPem,
    stop: () => plane.stop({ keepLogs: process.env.AIO_KEEP_LOGS === '1' }),
  };
  // `kubectl wait` right after the apply can find no conditions yet on a fresh API server: retry.
  await waitFor('the CRDs to be served', async () => {
    await installCrd(cluster);
    expectOk(await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(SERVICE_MONITOR_CRD)), 'kubectl apply the ServiceMonitor CRD');
    expectOk(await cluster.kubectl(['wait', '--for=condition=Established', 'crd/servicemonitors.monitoring.coreos.com', '--timeout=60s']), 'kubectl wait');
    return true;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  return cluster;
}

/** RBAC_KINDS are what the chart renders for the operator's identity and rights (and the Secret it may only fill in). */
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Secret']);

/** ChartRbac is the chart's RBAC as rendered and applied for one release. */
export interface ChartRbac {
  readonly objects: readonly Rendered[];
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly username: string;
}

/** installChartRbac renders the chart with `helm template` and applies its ServiceAccount, roles, bindings, the webhook Secret and the policy on the Secrets the operator creates. */
export async function installChartRbac(cluster: TestCluster, p: { release: string; namespace: string; sets: readonly string[]; webhookUrl: string }): Promise<ChartRbac> {
  const rendered = parseObjects(expectOk(await cluster.helm(['template', p.release, CHART_DIR, '--namespace', p.namespace, ...p.sets.flatMap((s) => ['--set', s])]), 'helm template'));
  const objects = rendered.filter((o) => RBAC_KINDS.has(o.kind));
  // The policy that narrows the operator's Secret `create` to its certificate belongs to its rights.
  const secretPolicy = rendered.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy') && o.metadata.name.endsWith('-webhook-tls'));
  expectOk(await cluster.kubectl(['create', 'namespace', p.namespace]), 'kubectl create namespace');
  expectOk(await cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...objects, ...secretPolicy, ...rendered.filter((o) => o.kind === 'MutatingWebhookConfiguration').map((o) => reachedAt(o, p.webhookUrl))] })), 'kubectl apply the chart RBAC');
  const serviceAccount = objects.find((o) => o.kind === 'ServiceAccount')?.metadata.name ?? '';
  return { objects, namespace: p.namespace, serviceAccount, username: `system:serviceaccount:${p.namespace}:${serviceAccount}` };
}

/**
 * reachedAt points the chart's MutatingWebhookConfiguration at the operator process on this
 * machine: the API server cannot reach a Service of simulated nodes. The chart creates the
 * configuration, so the operator needs no `create` on it.
 */
function reachedAt(configuration: Rendered, url: string): Rendered {
  const webhooks = (configuration as unknown as { webhooks: Record<string, unknown>[] }).webhooks;
  return { ...configuration, webhooks: webhooks.map((w) => ({ ...w, clientConfig: { url: `${url}/mutate-pods` } })) };
}

/** operatorKubeconfig writes a kubeconfig carrying a token of the chart's ServiceAccount (TokenRequest). */
export async function operatorKubeconfig(cluster: AuditedCluster, rbac: ChartRbac, dir: string): Promise<string> {
  const token = expectOk(await cluster.kubectl(['create', 'token', rbac.serviceAccount, '-n', rbac.namespace, '--duration=3600s']), 'kubectl create token').trim();
  const path = join(dir, `${rbac.namespace}.kubeconfig`);
  await writeFile(path, tokenKubeconfig({ server: cluster.server, caPem: cluster.caPem, token }), { mode: 0o600 });
  return path;
}

/** tenantNamespaces makes two namespaces, the first opted in to injection, and waits for their default ServiceAccounts. */
export async function tenantNamespaces(cluster: TestCluster, prefix: string): Promise<{ opted: string; other: string }> {
  const names = { opted: `${prefix}-opted`, other: `${prefix}-other` };
  await cluster.core.createNamespace({ body: { metadata: { name: names.opted, labels: { [LABEL_INJECTION]: 'enabled' } } } });
  await cluster.core.createNamespace({ body: { metadata: { name: names.other } } });
  for (const namespace of Object.values(names)) {
    await waitFor('the default ServiceAccount', async () => Boolean(await cluster.core.readNamespacedServiceAccount({ namespace, name: 'default' })), { timeoutMs: 30_000, intervalMs: 200 });
  }
  return names;
}

/** ENDPOINTS are one endpoint per path the reconciler has: each caller auth mode, and a missing provider Secret. */
function endpoints(simulator: EnclaveSimulator, ns: { opted: string; other: string }): { namespace: string; name: string; spec: Record<string, unknown> }[] {
  // Only `dev` trusts the simulator (its release change drives the rollouts); the others verify the
  // public upstream, which fails here (no egress), and run their proxies anyway.
  const one = (extra: Record<string, unknown>): Record<string, unknown> => ({ provider: 'tinfoil', apiKeySecretRef: { name: 'provider-key' }, replicas: 1, ...extra });
  return [
    { namespace: ns.opted, name: 'dev', spec: simulatorEndpointSpec(simulator, { replicas: 1 }) },
    { namespace: ns.opted, name: 'sa', spec: one({ callers: { auth: 'serviceaccount', audiences: ['inference'] } }) },
    { namespace: ns.opted, name: 'keys', spec: one({ callers: { auth: 'static-keys', staticKeysSecretRef: { name: 'keys' } } }) },
    { namespace: ns.opted, name: 'nokey', spec: one({ apiKeySecretRef: { name: 'does-not-exist' } }) },
    { namespace: ns.other, name: 'jwt', spec: one({ callers: { auth: 'jwt', jwt: { jwksUrl: 'https://127.0.0.1:9/jwks', issuer: 'https://issuer.test', audiences: ['inference'] } } }) },
  ];
}

async function waitReady(cluster: TestCluster, namespace: string, name: string, extra: (e: Awaited<ReturnType<typeof readEndpoint>>) => boolean = () => true): Promise<void> {
  await waitFor(`${namespace}/${name} to be Ready`, async () => {
    const e = await readEndpoint(cluster, namespace, name);
    if (condition(e, 'Ready')?.status === 'True' && extra(e)) return true;
    throw new Error(JSON.stringify(e.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`)));
  }, { timeoutMs: 40_000, intervalMs: 250 });
}

/** optedWorkload is a workload whose pods ask for endpoint `dev`'s sidecar and that opted in to restarts. */
function optedWorkload(name: string): V1Deployment & V1StatefulSet {
  return {
    metadata: { name, annotations: { [ANNOTATION_RESTART_ON_ATTESTATION_CHANGE]: 'true' } },
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations: { 'inference.attested.dev/inject': 'dev' } }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.local/app:1' }] } },
    },
  };
}

/** reportMissingSecret makes `nokey`'s pod unready and records kubelet's FailedMount Event for it (simulated nodes run no kubelet). */
async function reportMissingSecret(cluster: TestCluster, namespace: string): Promise<void> {
  const core = cluster.core;
  const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/instance=nokey' });
  const pod = pods.items[0];
  if (pod?.metadata?.name === undefined) throw new Error('no proxy pod for nokey');
  const podName = pod.metadata.name;
  pod.status ??= {};
  pod.status.phase = 'Pending';
  pod.status.conditions = [{ type: 'Ready', status: 'False' }];
  pod.status.containerStatuses = [];
  await core.replaceNamespacedPodStatus({ namespace, name: podName, body: pod });
  await core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { generateName: `${podName}.` },
      involvedObject: { kind: 'Pod', name: podName, namespace },
      reason: 'FailedMount',
      type: 'Warning',
      message: 'MountVolume.SetUp failed for volume "attested-inference-provider-key" : secret "does-not-exist" not found',
    },
  });
}

/**
 * driveEveryPath makes the operator do everything it does: reconcile an endpoint of each caller
 * auth mode (status, Events, children, the TokenReview RoleBinding, ServiceMonitors), admit an
 * injected pod, roll an endpoint and an opted-in workload on a release change, learn a missing
 * Secret from FailedMount Events, let a deleted endpoint's children go, and delete the children of
 * an endpoint the admin policy comes to refuse.
 */
export async function driveEveryPath(cluster: TestCluster, simulator: EnclaveSimulator, ns: { opted: string; other: string }): Promise<void> {
  const all = endpoints(simulator, ns);
  for (const e of all) await createEndpoint(cluster, e.namespace, e.name, e.spec);
  for (const e of all.filter((x) => x.name !== 'dev')) await waitReady(cluster, e.namespace, e.name);
  await reportMissingSecret(cluster, ns.opted);
  await waitFor('nokey to report its missing Secret', async () => condition(await readEndpoint(cluster, ns.opted, 'nokey'), 'Degraded')?.reason === 'SecretNotFound', { timeoutMs: 60_000, intervalMs: 250 });
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  await cluster.kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.opted, name: 'keys' });
  await waitFor("keys's children to be collected", async () => (await apps.listNamespacedDeployment({ namespace: ns.opted, labelSelector: 'inference.attested.dev/endpoint=keys' })).items.length === 0, { timeoutMs: 60_000, intervalMs: 250 });
  await refuseByPolicy(cluster, ns.opted);
  await rollOnReleaseChange(cluster, simulator, ns.opted);
}

/**
 * refuseByPolicy gives endpoint `sa` a proxy image the admin policy does not list (no admission
 * policy is installed here, so only the operator refuses it): the operator deletes every child it
 * made for `sa`, its TokenReview RoleBinding and ServiceMonitor included.
 */
async function refuseByPolicy(cluster: TestCluster, namespace: string): Promise<void> {
  expectOk(await cluster.kubectl(['-n', namespace, 'patch', 'inferenceendpoint', 'sa', '--type=merge', '-p', JSON.stringify({ spec: { proxy: { image: 'tenant.example/proxy:1' } } })]), 'kubectl patch inferenceendpoint sa');
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  await waitFor("sa's children to be deleted", async () => {
    const e = await readEndpoint(cluster, namespace, 'sa');
    const left = await apps.listNamespacedDeployment({ namespace, labelSelector: 'inference.attested.dev/endpoint=sa' });
    return condition(e, 'Degraded')?.reason === 'PolicyViolation' && left.items.length === 0;
  }, { timeoutMs: 60_000, intervalMs: 250 });
}

/** rollOnReleaseChange admits an injected pod of an opted-in Deployment (beside an opted-in StatefulSet), then switches the simulator's release: endpoint `dev` and both workloads roll. */
async function rollOnReleaseChange(cluster: TestCluster, simulator: EnclaveSimulator, namespace: string): Promise<void> {
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  await waitReady(cluster, namespace, 'dev', (e) => condition(e, 'Attested')?.reason === 'DevelopmentTrust');
  await apps.createNamespacedDeployment({ namespace, body: optedWorkload('app') });
  await apps.createNamespacedStatefulSet({ namespace, body: optedWorkload('db') });
  await waitFor('the injected app pod', async () => {
    const pods = await cluster.core.listNamespacedPod({ namespace, labelSelector: 'app=app' });
    return pods.items.some((p) => p.metadata?.annotations?.[ANNOTATION_INJECTION_STATUS] === 'injected');
  }, { timeoutMs: 60_000, intervalMs: 250 });
  const after = simulator.switchRelease().releaseDigest;
  await waitFor('the endpoint and the opted-in workloads to roll', async () => {
    const app = await apps.readNamespacedDeployment({ namespace, name: 'app' });
    const db = await apps.readNamespacedStatefulSet({ namespace, name: 'db' });
    const dev = await readEndpoint(cluster, namespace, 'dev');
    return [app, db].every((w) => w.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST] === after) && dev.status?.attestation?.lastRollout?.toDigest === after;
  }, { timeoutMs: 60_000, intervalMs: 250 });
}
