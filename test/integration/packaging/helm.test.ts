import { describe, expect, it } from 'vitest';
import { webhookConfigurationFor } from '../../../operator/webhook/configuration.ts';
import { testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, find, ids, operatorContainer, parseObjects, type Rendered } from './chart.ts';

const NS = 'aio-render';

describe('the Helm chart renders', () => {
  const cluster = testCluster();
  const helm = (args: readonly string[]): ReturnType<typeof cluster.helm> => cluster.helm(args);
  const template = async (...sets: string[]): Promise<Rendered[]> =>
    parseObjects(expectOk(await helm(['template', 'attested-inference-operator', CHART_DIR, '--namespace', NS, '--api-versions', 'monitoring.coreos.com/v1', ...sets.flatMap((s) => ['--set', s])]), 'helm template'));

  it('passes helm lint, also --strict, with no warning', async () => {
    for (const strict of [[], ['--strict']]) {
      const linted = await helm(['lint', CHART_DIR, ...strict]);
      expect(linted.code, linted.stdout + linted.stderr).toBe(0);
      expect(linted.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(linted.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('renders the operator, its least-privilege RBAC, PDB and dashboard with defaults', async () => {
    const objects = await template();
    expect(ids(objects)).toEqual([
      'ClusterRole//attested-inference-operator',
      'ClusterRole//attested-inference-tokenreview',
      'ClusterRoleBinding//attested-inference-operator',
      `ConfigMap/${NS}/attested-inference-operator-dashboard`,
      `Deployment/${NS}/attested-inference-operator`,
      `PodDisruptionBudget/${NS}/attested-inference-operator`,
      `Role/${NS}/attested-inference-operator-leader-election`,
      `RoleBinding/${NS}/attested-inference-operator-leader-election`,
      `ServiceAccount/${NS}/attested-inference-operator`,
    ]);
    const container = operatorContainer(objects);
    expect(container.image).toBe('registry.local/attested-inference-operator:0.1.0');
    expect(container.args).toEqual([
      '--proxy-image=registry.local/attested-inference-proxy:0.1.0',
      '--proxy-image-pull-policy=IfNotPresent',
      '--namespaces=',
      '--log-level=info',
      '--workers=4',
      '--leader-elect=true',
      '--probe-port=8081',
      '--token-review-cluster-role=attested-inference-tokenreview',
      '--api-server-ports=443,6443',
    ]);
    expect(container.env.map((e) => e.name)).toEqual(['POD_NAME', 'POD_NAMESPACE']);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    const deployment = find(objects, 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: { livenessProbe: unknown; readinessProbe: unknown }[] } } } };
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0]).toMatchObject({ livenessProbe: { httpGet: { path: '/healthz', port: 'http-metrics' } }, readinessProbe: { httpGet: { path: '/readyz', port: 'http-metrics' } } });
    const dashboard = find(objects, 'ConfigMap') as unknown as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
    expect(dashboard.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboard.data['attested-inference.json'] ?? '{}')).toMatchObject({ uid: 'attested-inference' });
    // No Secret access anywhere unless the webhook is on.
    expect(JSON.stringify(objects.filter((o) => o.kind.endsWith('Role')))).not.toContain('secrets');
  });

  it('renders the webhook, monitoring and namespace-scoped RBAC when asked', async () => {
    const objects = await template('webhook.enabled=true', 'monitoring.serviceMonitor.enabled=true', 'monitoring.prometheusRule.enabled=true', 'namespaces={team-a,team-b}', 'allowDevelopmentTrust=true');
    // The operator server-side applies the same configuration with its caBundle: identical values,
    // so the two field managers share them instead of conflicting.
    const webhook = find(objects, 'MutatingWebhookConfiguration', 'attested-inference-sidecar-injector') as unknown as { webhooks: unknown[] };
    const operators = webhookConfigurationFor({ name: 'attested-inference-sidecar-injector', client: { service: { name: 'attested-inference-webhook', namespace: NS, port: 443 } }, operatorNamespace: NS, failurePolicy: 'Fail' }, 'CA');
    const withoutCa = JSON.parse(JSON.stringify(operators.webhooks)) as { clientConfig: { caBundle?: string } }[];
    for (const w of withoutCa) delete w.clientConfig.caBundle;
    expect(webhook.webhooks).toEqual(withoutCa);
    find(objects, 'Service', 'attested-inference-webhook');
    find(objects, 'Secret', 'attested-inference-webhook-tls');
    const tls = find(objects, 'Role', 'attested-inference-operator-webhook-tls') as unknown as { rules: unknown[] };
    expect(tls.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'patch'], resourceNames: ['attested-inference-webhook-tls'] }]);
    find(objects, 'ServiceMonitor');
    find(objects, 'PrometheusRule');
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.metadata.name)).toEqual(['attested-inference-operator-webhook']);
    expect(objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'attested-inference-operator').map((o) => o.metadata.namespace)).toEqual(['team-a', 'team-b']);
    expect(operatorContainer(objects).args).toEqual(expect.arrayContaining([
      '--namespaces=team-a,team-b', '--allow-development-trust', '--webhook-service-name=attested-inference-webhook', '--webhook-port=9443',
      '--webhook-secret-name=attested-inference-webhook-tls', '--webhook-configuration-name=attested-inference-sidecar-injector', '--webhook-failure-policy=Fail',
    ]));
  });

  it('refuses bad values at install time, naming the value', async () => {
    const cases: [string, RegExp][] = [
      ['proxy.image.pullPolicy=Sometimes', /\/proxy\/image\/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'/],
      ['replicaCount=0', /\/replicaCount': minimum: got 0, want 1/],
      ['logLevel=loud', /\/logLevel': value must be one of/],
      ['securityContext.runAsNonRoot=false', /\/securityContext\/runAsNonRoot': value must be true/],
      ['namespaces={Bad_NS}', /\/namespaces\/0': 'Bad_NS' does not match pattern/],
      ['monitoring.prometheusRule.errorRatio=2', /\/monitoring\/prometheusRule\/errorRatio': exclusiveMaximum: got 2, want 1/],
      ['monitoring.prometheusRule.budgetNearlySpent=1', /\/monitoring\/prometheusRule\/budgetNearlySpent': exclusiveMaximum: got 1, want 1/],
      ['allowDevelopmentTrust=yes', /\/allowDevelopmentTrust': got string, want boolean/],
      ['replicas=3', /additional properties 'replicas' not allowed/],
    ];
    for (const [set, message] of cases) {
      const result = await helm(['install', 'refused', CHART_DIR, '--namespace', NS, '--dry-run=client', '--set', set]);
      expect(result.code, set).not.toBe(0);
      expect(result.stderr, set).toContain("values don't meet the specifications of the schema");
      expect(result.stderr, set).toMatch(message);
    }
  });
});
