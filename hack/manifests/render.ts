import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { dashboardJson } from '../dashboard/dashboard.ts';

/** Manifest is one Kubernetes object as plain data. */
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

/** Helm runs the pinned helm with `args` and returns its output (exit code 0) or throws. */
export type Helm = (args: readonly string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHART = 'charts/attested-inference-operator';
export const DASHBOARD_FILE = `${CHART}/dashboards/attested-inference.json`;
/** RELEASE and NAMESPACE are what config/ is rendered for (kubebuilder's layout, one namespace). */
export const RELEASE = 'attested-inference-operator';
export const NAMESPACE = 'attested-inference-system';
const HEADER = '# Generated from charts/attested-inference-operator by hack/render-manifests.ts; do not edit.\n';

const FOLDER_OF: Record<string, string> = {
  ServiceAccount: 'rbac', ClusterRole: 'rbac', ClusterRoleBinding: 'rbac', Role: 'rbac', RoleBinding: 'rbac',
  Deployment: 'manager', PodDisruptionBudget: 'manager', NetworkPolicy: 'manager', ConfigMap: 'grafana',
  ValidatingAdmissionPolicy: 'policy', ValidatingAdmissionPolicyBinding: 'policy',
};
/** FOLDER_OF_NAME places the objects whose kind does not say where they go: the policy's ConfigMaps. */
const FOLDER_OF_NAME: Record<string, string> = { 'attested-inference-operator-policy': 'manager', 'attested-inference-policy': 'policy' };
const folderOf = (m: Manifest): string | undefined => FOLDER_OF_NAME[m.metadata.name] ?? FOLDER_OF[m.kind];

/** renderChart runs `helm template` for the config/ release with extra `--set` (and `--set-json`) values. */
export async function renderChart(helm: Helm, sets: readonly string[] = [], jsonSets: readonly string[] = []): Promise<Manifest[]> {
  const args = ['template', RELEASE, join(ROOT, CHART), '--namespace', NAMESPACE, '--api-versions', 'monitoring.coreos.com/v1', ...sets.flatMap((s) => ['--set', s]), ...jsonSets.flatMap((s) => ['--set-json', s])];
  const out = await helm(args);
  if (out.code !== 0) throw new Error(`helm template failed: ${out.stderr}`);
  return parseAllDocuments(out.stdout).map((d) => d.toJS() as Manifest | null).filter((m): m is Manifest => m !== null);
}

/** kustomizeLabels drops the labels only Helm can keep true (chart version, managed-by Helm). */
function withoutHelmLabels(m: Manifest): Manifest {
  const labels = { ...m.metadata.labels };
  delete labels['helm.sh/chart'];
  delete labels['app.kubernetes.io/managed-by'];
  return { ...m, metadata: { ...m.metadata, labels } };
}

const fileName = (m: Manifest): string => `${m.kind.toLowerCase()}_${m.metadata.name}.yaml`;
const key = (m: Manifest): string => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
const yamlOf = (m: Manifest): string => HEADER + stringify(withoutHelmLabels(m), { lineWidth: 0 });

function kustomization(resources: readonly string[], extra: Record<string, unknown> = {}, kind = 'Kustomization'): string {
  const apiVersion = kind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  return HEADER + stringify({ apiVersion, kind, ...extra, resources }, { lineWidth: 0 });
}

/** addFolder puts manifests into `config/<folder>/`, one file each, with their kustomization. */
function addFolder(files: Map<string, string>, folder: string, manifests: readonly Manifest[], options: { extra?: Record<string, unknown>; kind?: string } = {}): void {
  const names = manifests.map(fileName).sort();
  for (const m of manifests) files.set(`config/${folder}/${fileName(m)}`, yamlOf(m));
  files.set(`config/${folder}/kustomization.yaml`, kustomization(names, options.extra, options.kind));
}

/**
 * IMAGE_CONFIG makes kustomize's images transformer also rewrite the values of Deployment container
 * environment variables: the operator reads its proxy image from OPERATOR_PROXY_IMAGE, so an
 * overlay's `images:` entry for registry.local/attested-inference-proxy changes it like any image
 * (kustomize merges a base's configurations into the kustomizations that use it). Only values
 * naming that image change: the transformer matches the image name.
 */
const IMAGE_CONFIG = HEADER + stringify({ images: [{ kind: 'Deployment', path: 'spec/template/spec/containers/env/value' }] }, { lineWidth: 0 });

/** optional are the objects a values switch adds to the default render. */
function added(all: readonly Manifest[], base: readonly Manifest[]): Manifest[] {
  const seen = new Set(base.map(key));
  return all.filter((m) => !seen.has(key(m)));
}

/** webhookPatch adds the Deployment's webhook port, the only change webhook.enabled makes to it. */
function webhookPatch(withWebhook: readonly Manifest[]): string {
  const deployment = withWebhook.find((m) => m.kind === 'Deployment');
  const containers = (deployment?.spec as { template: { spec: { containers: { name: string; ports: { name: string }[] }[] } } }).template.spec.containers;
  const ports = containers[0]?.ports.filter((p) => p.name === 'webhook') ?? [];
  const patch = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: RELEASE, namespace: NAMESPACE }, spec: { template: { spec: { containers: [{ name: containers[0]?.name, ports }] } } } };
  return HEADER + stringify(patch, { lineWidth: 0 });
}

async function crdFiles(files: Map<string, string>): Promise<void> {
  const names = (await readdir(join(ROOT, 'crds'))).filter((f) => f.endsWith('.yaml')).sort();
  for (const name of names) {
    const text = await readFile(join(ROOT, 'crds', name), 'utf8');
    files.set(`${CHART}/crds/${name}`, text);
    files.set(`config/crd/${name}`, text);
  }
  files.set('config/crd/kustomization.yaml', kustomization(names));
}

/**
 * renderedFiles is every generated file, by path from the repository root: the chart's CRD copy and
 * dashboard, the kustomize tree under config/ and the plain rules file. The chart is the source.
 */
export async function renderedFiles(helm: Helm): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  files.set(DASHBOARD_FILE, dashboardJson());
  await crdFiles(files);
  const base = await renderChart(helm);
  for (const folder of ['rbac', 'manager', 'grafana', 'policy']) addFolder(files, folder, base.filter((m) => folderOf(m) === folder), folder === 'manager' ? { extra: { configurations: ['kustomizeconfig.yaml'] } } : {});
  files.set('config/manager/kustomizeconfig.yaml', IMAGE_CONFIG);
  const unplaced = base.filter((m) => folderOf(m) === undefined);
  if (unplaced.length > 0) throw new Error(`no config/ folder for ${unplaced.map(key).join(', ')}`);
  const namespace: Manifest = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels: { 'app.kubernetes.io/name': 'attested-inference-operator', 'pod-security.kubernetes.io/enforce': 'restricted' } } };
  files.set('config/default/namespace.yaml', yamlOf(namespace));
  const withWebhook = await renderChart(helm, ['webhook.enabled=true']);
  addFolder(files, 'webhook', added(withWebhook, base), { extra: { patches: [{ path: 'deployment_patch.yaml' }] }, kind: 'Component' });
  files.set('config/webhook/deployment_patch.yaml', webhookPatch(withWebhook));
  const monitored = await renderChart(helm, ['monitoring.serviceMonitor.enabled=true', 'monitoring.prometheusRule.enabled=true']);
  const monitoring = added(monitored, base);
  addFolder(files, 'prometheus', monitoring, { kind: 'Component' });
  const rule = monitoring.find((m) => m.kind === 'PrometheusRule');
  files.set('config/prometheus/attested-inference.rules.yaml', `${HEADER}# Plain Prometheus rule file (rule_files:), the PrometheusRule's spec; promtool check rules passes.\n${stringify(rule?.spec, { lineWidth: 0 })}`);
  files.set('config/default/kustomization.yaml', kustomization(['namespace.yaml', '../crd', '../rbac', '../manager', '../grafana', '../policy'], { namespace: NAMESPACE })
    + '# Optional parts, as in the chart (values webhook.enabled, monitoring.*):\n'
    + '# components:\n#   - ../webhook     # sidecar injector (operator/webhook/)\n#   - ../prometheus  # needs the Prometheus operator CRDs\n');
  return files;
}
