import { describe, expect, it } from 'vitest';
import { webhookConfigurationFor } from '../../../operator/webhook/configuration.ts';
import { testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, find, ids, operatorContainer, parseObjects, type Rendered } from './chart.ts';

const NS = 'aio-render';

describe('the Helm chart renders', () => {
  const cluster = testCluster();
  const helm = (args: readonly string[]): ReturnType<typeof cluster.helm> => cluster.helm(args);
  const template = async (...sets: string[]): Promise<Rendered[]> =>
    parseObjects(expectOk(await helm(['template', 'attested-inference-operator', CHART_DIR, '--namespace', NS, '--api-versions', 'monitoring.coreos.com/v1', ...sets.flatMap((s) => (s.startsWith('--') ? [s] : ['--set', s]))]), 'helm template'));

  it('hands the operator privatemode-proxy\'s pinned image and the Service probe setting', async () => {
    const pinned = `ghcr.io/edgelesssys/privatemode/privatemode-proxy@sha256:${'b'.repeat(64)}`;
    const args = operatorContainer(await template(`privatemode.proxyImage=${pinned}`, 'probeServiceRoutes=false')).args;
    expect(args).toContain(`--privatemode-proxy-image=${pinned}`);
    expect(args).toContain('--probe-service-routes=false');
  });

  it('hands the operator the scrape interval and labels of endpoints\' ServiceMonitors', async () => {
    const args = operatorContainer(await template('monitoring.serviceMonitor.interval=15s', 'monitoring.serviceMonitor.labels.release=kube-prometheus-stack', 'monitoring.serviceMonitor.labels.team=platform')).args;
    expect(args).toContain('--service-monitor-interval=15s');
    expect(args).toContain('--service-monitor-labels=release=kube-prometheus-stack,team=platform');
  });

  it('hands the operator the webhook\'s failure mode, and refuses one it does not know', async () => {
    expect(operatorContainer(await template('webhook.enabled=true', 'webhook.failureMode=admit')).args).toContain('--webhook-failure-mode=admit');
    const refused = await helm(['template', 'x', CHART_DIR, '--set', 'webhook.failureMode=ignore']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/\/webhook\/failureMode': value must be one of 'reject', 'admit'/);
  });

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
      `ConfigMap/${NS}/attested-inference-operator-policy`,
      `ConfigMap/${NS}/attested-inference-policy`,
      `Deployment/${NS}/attested-inference-operator`,
      `NetworkPolicy/${NS}/attested-inference-operator`,
      `PodDisruptionBudget/${NS}/attested-inference-operator`,
      `Role/${NS}/attested-inference-operator-leader-election`,
      `RoleBinding/${NS}/attested-inference-operator-leader-election`,
      `ServiceAccount/${NS}/attested-inference-operator`,
      'ValidatingAdmissionPolicy//attested-inference-policy',
      'ValidatingAdmissionPolicyBinding//attested-inference-policy',
    ]);
    const container = operatorContainer(objects);
    expect(container.image).toBe('registry.local/attested-inference-operator:0.1.0');
    expect(container.args).toEqual([
      '--proxy-image-pull-policy=IfNotPresent',
      '--namespaces=',
      '--log-level=info',
      '--workers=4',
      '--max-concurrent-rollouts=5',
      '--leader-elect=true',
      '--probe-port=8081',
      '--probe-service-routes=true',
      '--service-monitor-interval=30s',
      '--token-review-cluster-role=attested-inference-tokenreview',
      '--api-server-ports=443,6443',
      '--policy-file=/etc/attested-inference/policy/policy.json',
    ]);
    expect(container.env.map((e) => e.name)).toEqual(['OPERATOR_PROXY_IMAGE', 'POD_NAME', 'POD_NAMESPACE', 'NODE_OPTIONS']);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    const deployment = find(objects, 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: { livenessProbe: unknown; readinessProbe: unknown }[] } } } };
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0]).toMatchObject({ livenessProbe: { httpGet: { path: '/healthz', port: 'http-metrics' } }, readinessProbe: { httpGet: { path: '/readyz', port: 'http-metrics' } } });
    const dashboard = find(objects, 'ConfigMap', 'attested-inference-operator-dashboard') as unknown as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
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
    expect(tls.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: ['attested-inference-webhook-tls'] }, { apiGroups: [''], resources: ['secrets'], verbs: ['create'] }]);
    find(objects, 'ServiceMonitor');
    find(objects, 'PrometheusRule');
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.metadata.name)).toEqual(['attested-inference-operator-webhook']);
    expect(objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'attested-inference-operator').map((o) => o.metadata.namespace)).toEqual(['team-a', 'team-b']);
    // With namespaces set, the sidecar roller's StatefulSet rights are bound in them alone, and the
    // webhook reads only their Namespace objects.
    expect(objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'attested-inference-operator-sidecars').map((o) => o.metadata.namespace)).toEqual(['team-a', 'team-b']);
    const cluster = find(objects, 'ClusterRole', 'attested-inference-operator-webhook') as unknown as { rules: { resources: string[]; resourceNames?: string[] }[] };
    expect(cluster.rules.find((r) => r.resources.includes('namespaces'))?.resourceNames).toEqual(['team-a', 'team-b']);
    expect(operatorContainer(objects).args).toEqual(expect.arrayContaining([
      '--namespaces=team-a,team-b', '--allow-development-trust', '--webhook-service-name=attested-inference-webhook', '--webhook-port=9443',
      '--webhook-secret-name=attested-inference-webhook-tls', '--webhook-configuration-name=attested-inference-sidecar-injector', '--webhook-failure-policy=Fail',
      '--webhook-failure-mode=reject',
    ]));
  });

  it('renders the admin policy: the operator\'s policy file, the admission policy on the main resource only, a binding and params per exception', async () => {
    const exceptions = JSON.stringify({ 'team-a': { proxyImages: ['registry.example/team-a/proxy@sha256:' + 'c'.repeat(64)], unattestedUpstreamHosts: [] }, 'team-b': { developmentTrust: false } });
    const objects = await template('allowDevelopmentTrust=true', 'policy.unattestedUpstreamHosts={VLLM.example.:8443}', 'policy.limitsStores={redis://redis.shared:6379/}', 'proxy.image.tag=9.9.9', `--set-json=policy.namespaces=${exceptions}`);
    const data = (name: string): Record<string, string> => (find(objects, 'ConfigMap', name) as unknown as { data: Record<string, string> }).data;
    expect(JSON.parse(data('attested-inference-operator-policy')['policy.json'] ?? '')).toEqual({
      name: 'attested-inference-policy',
      default: { proxyImages: [], configRepos: ['tinfoilsh/confidential-model-router'], developmentTrust: true, unattestedUpstreamHosts: ['vllm.example:8443'], limitsStores: ['redis://redis.shared:6379'] },
      namespaces: { 'team-a': { proxyImages: ['registry.example/team-a/proxy@sha256:' + 'c'.repeat(64)], unattestedUpstreamHosts: [] }, 'team-b': { developmentTrust: false } },
    });
    expect(data('attested-inference-policy')).toEqual({
      proxyImages: 'registry.local/attested-inference-proxy:9.9.9', configRepos: 'tinfoilsh/confidential-model-router', developmentTrust: 'true',
      unattestedUpstreamHosts: 'vllm.example:8443', limitsStores: 'redis://redis.shared:6379',
    });
    expect(data('attested-inference-policy-team-a')).toMatchObject({ proxyImages: `registry.local/attested-inference-proxy:9.9.9\nregistry.example/team-a/proxy@sha256:${'c'.repeat(64)}`, unattestedUpstreamHosts: '', developmentTrust: 'true' });
    expect(data('attested-inference-policy-team-b')).toMatchObject({ developmentTrust: 'false', unattestedUpstreamHosts: 'vllm.example:8443' });
    const policy = find(objects, 'ValidatingAdmissionPolicy', 'attested-inference-policy') as unknown as { spec: { failurePolicy: string; paramKind: unknown; matchConstraints: { resourceRules: { resources: string[]; operations: string[] }[] } } };
    expect(policy.spec).toMatchObject({ failurePolicy: 'Fail', paramKind: { apiVersion: 'v1', kind: 'ConfigMap' } });
    expect(policy.spec.matchConstraints.resourceRules).toEqual([expect.objectContaining({ resources: ['inferenceendpoints'], operations: ['CREATE', 'UPDATE'] })]);
    const binding = (name: string): { spec: Record<string, unknown> } => find(objects, 'ValidatingAdmissionPolicyBinding', name) as never;
    expect(binding('attested-inference-policy').spec).toEqual({
      policyName: 'attested-inference-policy', validationActions: ['Deny'],
      paramRef: { name: 'attested-inference-policy', namespace: NS, parameterNotFoundAction: 'Deny' },
      matchResources: { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['team-a', 'team-b'] }] } },
    });
    expect(binding('attested-inference-policy-team-a').spec).toEqual({
      policyName: 'attested-inference-policy', validationActions: ['Deny'],
      paramRef: { name: 'attested-inference-policy-team-a', namespace: NS, parameterNotFoundAction: 'Deny' },
      matchResources: { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a'] }] } },
    });
    // The operator reads the policy file at start: a policy change changes the pod template, so it rolls.
    const hash = (o: readonly Rendered[]): string | undefined => (find(o, 'Deployment') as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations['checksum/policy'];
    expect(hash(objects)).toMatch(/^[0-9a-f]{64}$/);
    expect(hash(await template())).not.toBe(hash(objects));
    const deployment = find(objects, 'Deployment') as unknown as { spec: { template: { spec: { volumes: unknown[]; containers: { volumeMounts: unknown[] }[] } } } };
    expect(deployment.spec.template.spec.volumes).toContainEqual({ name: 'policy', configMap: { name: 'attested-inference-operator-policy' } });
    expect(deployment.spec.template.spec.containers[0]?.volumeMounts).toContainEqual({ name: 'policy', mountPath: '/etc/attested-inference/policy', readOnly: true });
  });

  it('renders no admission policy with policy.admission=false, and still gives the operator its policy file', async () => {
    const objects = await template('policy.admission=false');
    expect(objects.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy') || o.metadata.name.startsWith('attested-inference-policy'))).toEqual([]);
    find(objects, 'ConfigMap', 'attested-inference-operator-policy');
    expect(operatorContainer(objects).args).toContain('--policy-file=/etc/attested-inference/policy/policy.json');
  });

  it('refuses an exception that allows development trust while the master switch forbids it', async () => {
    const result = await helm(['template', 'refused', CHART_DIR, '--namespace', NS, '--set', 'policy.namespaces.team-a.developmentTrust=true']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('policy.namespaces.team-a.developmentTrust: true needs allowDevelopmentTrust: true (the master switch)');
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
      ['policy.admission=maybe', /\/policy\/admission': got string, want boolean/],
      ['policy.proxyImages=registry.example/proxy:1', /\/policy\/proxyImages': got string, want array/],
      ['policy.proxyImages={registry.example/a proxy}', /\/policy\/proxyImages\/0': 'registry.example\/a proxy' does not match pattern/],
      ['policy.configRepos={not-a-repo}', /\/policy\/configRepos\/0': 'not-a-repo' does not match pattern/],
      ['policy.unattestedUpstreamHosts={https://vllm.example}', /\/policy\/unattestedUpstreamHosts\/0': 'https:\/\/vllm.example' does not match pattern/],
      ['policy.unattestedUpstreamHosts={user@vllm.example}', /\/policy\/unattestedUpstreamHosts\/0': 'user@vllm.example' does not match pattern/],
      ['policy.limitsStores={redis://user:pass@redis:6379}', /\/policy\/limitsStores\/0': 'redis:\/\/user:pass@redis:6379' does not match pattern/],
      ['policy.limitsStores={http://redis:6379}', /\/policy\/limitsStores\/0': 'http:\/\/redis:6379' does not match pattern/],
      ['policy.namespaces.Team_A.proxyImages={x}', /\/policy\/namespaces': additional properties 'Team_A' not allowed/],
      ['policy.namespaces.team-a.developmentTrust=yes', /\/policy\/namespaces\/team-a\/developmentTrust': got string, want boolean/],
      ['policy.namespaces.team-a.proxyImage={x}', /\/policy\/namespaces\/team-a': additional properties 'proxyImage' not allowed/],
      ['policy.hosts={x}', /\/policy': additional properties 'hosts' not allowed/],
      ['privatemode.proxyImage=ghcr.io/edgelesssys/privatemode/privatemode-proxy:latest', /\/privatemode\/proxyImage': '.*:latest' does not match pattern/],
    ];
    for (const [set, message] of cases) {
      const result = await helm(['install', 'refused', CHART_DIR, '--namespace', NS, '--dry-run=client', '--set', set]);
      expect(result.code, set).not.toBe(0);
      expect(result.stderr, set).toContain("values don't meet the specifications of the schema");
      expect(result.stderr, set).toMatch(message);
    }
  });
});
