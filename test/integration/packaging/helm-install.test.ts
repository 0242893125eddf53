import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CRD_NAME } from '../../../operator/api/v1alpha1/types.ts';
import { waitFor } from '../../harness/processes.ts';
import { testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, parseObjects } from './chart.ts';

const suffix = randomBytes(3).toString('hex');
const NS = `aio-helm-${suffix}`;
const RELEASE = `aio-${suffix}`;
const FULLNAME = `${RELEASE}-attested-inference-operator`;
const TOKEN_REVIEW = `aio-${suffix}-tokenreview`;
const SA = `system:serviceaccount:${NS}:${FULLNAME}`;
// Images are never pulled: simulated nodes run no containers, and pullPolicy Never forbids a pull anyway.
const NO_PULL = ['image.pullPolicy=Never', 'proxy.image.pullPolicy=Never', `tokenReviewClusterRole=${TOKEN_REVIEW}`];

describe('helm install, upgrade and uninstall on the local control plane', () => {
  const cluster = testCluster();
  const helm = (args: readonly string[]): ReturnType<typeof cluster.helm> => cluster.helm(args);
  const kubectl = (args: readonly string[]): ReturnType<typeof cluster.kubectl> => cluster.kubectl(args);
  const sets = (values: readonly string[]): string[] => values.flatMap((v) => ['--set', v]);
  /** can asks the API server whether the operator's ServiceAccount may do something. */
  const can = async (...args: string[]): Promise<boolean> => {
    const result = await kubectl(['auth', 'can-i', ...args, `--as=${SA}`]);
    if (!['yes', 'no'].includes(result.stdout.trim())) throw new Error(`kubectl auth can-i ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim() === 'yes';
  };
  const deployment = async (): Promise<{ spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } }; status: { readyReplicas?: number } }> =>
    JSON.parse(expectOk(await kubectl(['get', 'deployment', FULLNAME, '-n', NS, '-o', 'json']), 'kubectl get deployment')) as never;
  /** leftovers lists every object of the release still in the cluster, by its instance label. */
  const leftovers = async (): Promise<string[]> => {
    const kinds = 'deployments,replicasets,pods,services,serviceaccounts,configmaps,secrets,roles,rolebindings,poddisruptionbudgets,leases';
    const namespaced = await kubectl(['get', kinds, '-n', NS, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
    const clusterWide = await kubectl(['get', 'clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingadmissionpolicies,validatingadmissionpolicybindings', '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
    const named = await kubectl(['get', `clusterrole/${TOKEN_REVIEW}`, 'mutatingwebhookconfiguration/attested-inference-sidecar-injector', 'secret/attested-inference-webhook-tls', '-n', NS, '-o', 'name', '--ignore-not-found']);
    return [namespaced, clusterWide, named].flatMap((r) => expectOk(r, 'kubectl get').split('\n').filter(Boolean));
  };

  afterAll(async () => {
    await helm(['uninstall', RELEASE, '--namespace', NS, '--ignore-not-found']);
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
  });

  it('installs with --wait: two operator pods become Ready, and NOTES say what to run next', async () => {
    const installed = await helm(['install', RELEASE, CHART_DIR, '--namespace', NS, '--create-namespace', '--wait', '--timeout', '90s', ...sets(NO_PULL)]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout).toContain('kubectl get ie');
    expect(installed.stdout).toContain('inference_v1alpha1_inferenceendpoint_tinfoil.yaml');
    const d = await deployment();
    expect(d.status.readyReplicas).toBe(2);
    expect(d.spec.template.spec.containers[0]?.args).toContain('--log-level=info');
    const pods = parseObjects(expectOk(await kubectl(['get', 'pods', '-n', NS, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'yaml']), 'kubectl get pods'))[0] as unknown as { items: { spec: { containers: { imagePullPolicy: string }[] } }[] };
    expect(pods.items.map((p) => p.spec.containers[0]?.imagePullPolicy)).toEqual(['Never', 'Never']);
    expect(expectOk(await kubectl(['get', 'crd', CRD_NAME, '-o', 'name']), 'kubectl get crd').trim()).toBe(`customresourcedefinition.apiextensions.k8s.io/${CRD_NAME}`);
    // The admin policy is installed with the release: the API server enforces it, the operator reads its file.
    expect(expectOk(await kubectl(['get', 'validatingadmissionpolicybinding', 'attested-inference-policy', '-o', 'jsonpath={.spec.paramRef.namespace}']), 'kubectl get binding')).toBe(NS);
    expect(expectOk(await kubectl(['get', 'configmap', 'attested-inference-operator-policy', '-n', NS, '-o', 'name']), 'kubectl get policy file')).toBe('configmap/attested-inference-operator-policy\n');
  });

  it('gives the operator exactly its rights: endpoints, children, one ClusterRole to bind, its Lease, no Secrets', async () => {
    expect(await can('list', 'inferenceendpoints.inference.attested.dev', '--all-namespaces')).toBe(true);
    expect(await can('watch', 'inferenceendpoints.inference.attested.dev', '-n', 'default')).toBe(true);
    expect(await can('update', 'inferenceendpoints.inference.attested.dev', '--subresource=status', '-n', 'default')).toBe(true);
    expect(await can('update', 'inferenceendpoints.inference.attested.dev', '-n', 'default')).toBe(false);
    expect(await can('get', 'inferenceendpoints.inference.attested.dev', '-n', 'default')).toBe(false);
    expect(await can('delete', 'inferenceendpoints.inference.attested.dev', '-n', 'default')).toBe(false);
    for (const resource of ['deployments.apps', 'services', 'serviceaccounts', 'configmaps', 'poddisruptionbudgets.policy', 'networkpolicies.networking.k8s.io', 'rolebindings.rbac.authorization.k8s.io']) {
      expect(await can('patch', resource, '-n', 'default'), resource).toBe(true);
      expect(await can('create', resource, '-n', 'default'), resource).toBe(true);
      expect(await can('update', resource, '-n', 'default'), resource).toBe(false);
      // Children of an endpoint the admin policy comes to refuse are deleted by the operator.
      expect(await can('delete', resource, '-n', 'default'), resource).toBe(true);
    }
    expect(await can('bind', `clusterroles.rbac.authorization.k8s.io/${TOKEN_REVIEW}`)).toBe(true);
    expect(await can('bind', 'clusterroles.rbac.authorization.k8s.io/cluster-admin')).toBe(false);
    expect(await can('create', 'clusterrolebindings.rbac.authorization.k8s.io')).toBe(false);
    expect(await can('create', 'events.events.k8s.io', '-n', 'default')).toBe(true);
    expect(await can('list', 'events', '-n', 'default')).toBe(true);
    expect(await can('create', 'events', '-n', 'default')).toBe(false);
    expect(await can('list', 'pods', '-n', 'default')).toBe(false);
    expect(await can('get', 'pods', '-n', 'default')).toBe(false);
    expect(await can('delete', 'pods', '-n', 'default')).toBe(false);
    expect(await can('patch', 'statefulsets.apps', '-n', 'default')).toBe(false);
    expect(await can('create', 'tokenreviews.authentication.k8s.io')).toBe(false);
    expect(await can('create', 'leases.coordination.k8s.io', '-n', NS)).toBe(true);
    expect(await can('update', 'leases.coordination.k8s.io/attested-inference-operator', '-n', NS)).toBe(true);
    expect(await can('update', 'leases.coordination.k8s.io/someone-else', '-n', NS)).toBe(false);
    expect(await can('create', 'leases.coordination.k8s.io', '-n', 'default')).toBe(false);
    for (const ns of [NS, 'default', 'kube-system']) {
      expect(await can('get', 'secrets', '-n', ns), ns).toBe(false);
      expect(await can('list', 'secrets', '-n', ns), ns).toBe(false);
    }
    expect(await can('get', 'secrets/attested-inference-webhook-tls', '-n', NS)).toBe(false);
  });

  it('upgrades a changed value with --wait, and the webhook brings its one named Secret right', async () => {
    const upgraded = await helm(['upgrade', RELEASE, CHART_DIR, '--namespace', NS, '--wait', '--timeout', '90s', ...sets([...NO_PULL, 'logLevel=debug', 'replicaCount=3', 'webhook.enabled=true'])]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const d = await deployment();
    expect(d.spec.replicas).toBe(3);
    expect(d.status.readyReplicas).toBe(3);
    expect(d.spec.template.spec.containers[0]?.args).toContain('--log-level=debug');
    expect(expectOk(await kubectl(['get', 'mutatingwebhookconfiguration', 'attested-inference-sidecar-injector', '-o', 'jsonpath={.webhooks[0].clientConfig.service.path}']), 'kubectl get mwc')).toBe('/mutate-pods');
    expect(await can('get', 'secrets/attested-inference-webhook-tls', '-n', NS)).toBe(true);
    expect(await can('update', 'secrets/attested-inference-webhook-tls', '-n', NS)).toBe(true);
    expect(await can('patch', 'secrets/attested-inference-webhook-tls', '-n', NS)).toBe(false);
    // `create` cannot be limited to a name by RBAC, so the chart's policy limits it: written as the
    // operator, any other Secret is refused, and so is a token Secret under the one name it may read.
    expect(await can('create', 'secrets', '-n', NS)).toBe(true);
    const createAsOperator = async (name: string, type: string, annotations: Record<string, string> = {}): Promise<string> =>
      (await cluster.kubectl(['create', '-f', '-', '--dry-run=server', `--as=${SA}`], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS, annotations }, type }))).stderr;
    const refusal = `the operator may create one Secret in ${NS}: attested-inference-webhook-tls, of type Opaque`;
    await waitFor('the Secret policy to be enforced', async () => (await createAsOperator('another-secret', 'Opaque')).includes(refusal), { timeoutMs: 15_000, intervalMs: 250 });
    expect(await createAsOperator('attested-inference-webhook-tls', 'kubernetes.io/service-account-token', { 'kubernetes.io/service-account.name': FULLNAME })).toContain(`${refusal} (not attested-inference-webhook-tls, type kubernetes.io/service-account-token)`);
    expect(await can('get', 'secrets/another-secret', '-n', NS)).toBe(false);
    expect(await can('list', 'secrets', '-n', NS)).toBe(false);
    expect(await can('get', 'secrets/attested-inference-webhook-tls', '-n', 'default')).toBe(false);
    expect(await can('patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/attested-inference-sidecar-injector')).toBe(true);
    expect(await can('patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/another-webhook')).toBe(false);
    expect(await can('update', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/attested-inference-sidecar-injector')).toBe(false);
    expect(await can('patch', 'statefulsets.apps', '-n', 'default')).toBe(true);
    expect(await can('delete', 'statefulsets.apps', '-n', 'default')).toBe(false);
    expect(await can('get', 'namespaces/default')).toBe(true);
    // Admission reads namespace labels from a cache: cluster-wide, it lists and watches namespaces.
    expect(await can('list', 'namespaces')).toBe(true);
    expect(await can('delete', 'namespaces/default')).toBe(false);
    const history = expectOk(await helm(['history', RELEASE, '--namespace', NS, '-o', 'json']), 'helm history');
    expect((JSON.parse(history) as { revision: number }[]).map((r) => r.revision)).toEqual([1, 2]);
  });

  it('uninstalls with --wait and leaves nothing behind but the CRD it documents it keeps', async () => {
    expect(await leftovers()).not.toEqual([]);
    const removed = await helm(['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '90s']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await leftovers()).toEqual([]);
    expect(expectOk(await kubectl(['get', 'secrets', '-n', NS, '-o', 'name']), 'kubectl get secrets')).toBe('');
    expect((await kubectl(['get', 'crd', CRD_NAME, '-o', 'name'])).code).toBe(0);
  });
});
