import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACE, RELEASE, renderChart, renderedFiles, ROOT } from '../../../hack/manifests/render.ts';
import { testCluster } from '../cluster.ts';
import { expectOk, find, ids, operatorContainer, parseObjects, type Rendered } from './chart.ts';

/**
 * CLUSTER_SCOPED_UNKNOWN_TO_KUSTOMIZE are cluster-scoped kinds kustomize's namespace transformer does
 * not know, so it gives them the namespace; the API server drops a namespace on a cluster-scoped object.
 */
const CLUSTER_SCOPED_UNKNOWN_TO_KUSTOMIZE = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

/** comparable drops what only one side can say: Helm's own labels, the Namespace and the CRD kustomize adds. */
function comparable(objects: readonly Rendered[]): Rendered[] {
  return objects
    .filter((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition')
    .map((o) => {
      const labels = { ...o.metadata.labels };
      delete labels['helm.sh/chart'];
      delete labels['app.kubernetes.io/managed-by'];
      const { namespace, ...rest } = o.metadata;
      const metadata = CLUSTER_SCOPED_UNKNOWN_TO_KUSTOMIZE.has(o.kind) ? rest : { ...rest, ...(namespace === undefined ? {} : { namespace }) };
      return { ...o, metadata: { ...metadata, labels } };
    });
}

describe('the kustomize tree in config/', () => {
  const cluster = testCluster();
  const helm = (args: readonly string[]): ReturnType<typeof cluster.helm> => cluster.helm(args);
  const kubectl = (args: readonly string[], input?: string): ReturnType<typeof cluster.kubectl> => cluster.kubectl(args, input);
  let dir: string;
  let createdNamespace = false;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aio-kustomize-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    if (createdNamespace) await kubectl(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=false']);
  });

  it('is what hack/render-manifests.ts renders from the chart today (no drift)', async () => {
    const stale: string[] = [];
    for (const [path, text] of await renderedFiles(helm)) {
      if ((await readFile(join(ROOT, path), 'utf8').catch(() => '')) !== text) stale.push(path);
    }
    expect(stale, 'run: node hack/render-manifests.ts').toEqual([]);
  });

  it('builds the same objects, RBAC rules and container args as the chart with default values', async () => {
    const kustomized = parseObjects(expectOk(await kubectl(['kustomize', join(ROOT, 'config', 'default')]), 'kubectl kustomize'));
    const charted = (await renderChart(helm)) as unknown as Rendered[];
    expect(ids(comparable(kustomized))).toEqual(ids(comparable(charted)));
    expect(comparable(kustomized)).toEqual(expect.arrayContaining(comparable(charted)));
    expect(operatorContainer(kustomized).args).toEqual(operatorContainer(charted).args);
    expect(find(kustomized, 'ClusterRole', 'attested-inference-operator').rules).toEqual(find(charted, 'ClusterRole', 'attested-inference-operator').rules);
    find(kustomized, 'CustomResourceDefinition');
    expect(find(kustomized, 'Namespace').metadata.name).toBe(NAMESPACE);
  });

  it('applies cleanly with --dry-run=server, the webhook and prometheus components included', async () => {
    // A dry run persists nothing, so objects in a namespace the same apply creates would be
    // refused; the namespace exists for real first, as it would after a first apply.
    if ((await kubectl(['get', 'namespace', NAMESPACE])).code !== 0) {
      expectOk(await kubectl(['create', 'namespace', NAMESPACE]), 'kubectl create namespace');
      createdNamespace = true;
    }
    const applied = await kubectl(['apply', '--server-side', '--dry-run=server', '-k', join(ROOT, 'config', 'default')]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`deployment.apps/${RELEASE} serverside-applied (server dry run)`);
    expect(applied.stdout).toContain('validatingadmissionpolicy.admissionregistration.k8s.io/attested-inference-policy serverside-applied (server dry run)');
    expect(applied.stdout).toContain('validatingadmissionpolicybinding.admissionregistration.k8s.io/attested-inference-policy serverside-applied (server dry run)');

    const root = relative(dir, ROOT);
    await writeFile(join(dir, 'kustomization.yaml'), stringify({
      resources: [join(root, 'config', 'default')],
      components: [join(root, 'config', 'webhook'), join(root, 'config', 'prometheus')],
    }));
    const everything = parseObjects(expectOk(await kubectl(['kustomize', dir]), 'kubectl kustomize with components'));
    const ports = (find(everything, 'Deployment') as unknown as { spec: { template: { spec: { containers: { ports: { name: string }[] }[] } } } }).spec.template.spec.containers[0]?.ports.map((p) => p.name);
    expect(ports?.sort()).toEqual(['http-metrics', 'webhook']);
    expect(ids(everything.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/')))).toEqual([
      `PrometheusRule/${NAMESPACE}/${RELEASE}`,
      `ServiceMonitor/${NAMESPACE}/${RELEASE}`,
    ]);
    // The Prometheus operator's CRDs are not installed here, so its two kinds are checked by
    // promtool (prometheus.test.ts) instead of the API server.
    const rest = everything.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/'));
    const withComponents = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], rest.map((o) => stringify(o)).join('---\n'));
    expect(withComponents.code, withComponents.stderr).toBe(0);
    expect(withComponents.stdout).toContain('mutatingwebhookconfiguration.admissionregistration.k8s.io/attested-inference-sidecar-injector serverside-applied (server dry run)');
  });
});
