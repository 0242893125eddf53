import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../../operator/tls/pki.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, find, operatorContainer, parseObjects, type Rendered } from './chart.ts';

const NS = 'aio-render';

interface Policy {
  spec: { podSelector: unknown; policyTypes: string[]; ingress: { from: unknown[]; ports: { port: string; protocol: string }[] }[]; egress?: unknown[] };
}

function policy(objects: readonly Rendered[], name: string): Policy {
  return find(objects, 'NetworkPolicy', name) as unknown as Policy;
}

describe('the chart: webhook client authentication and NetworkPolicy', () => {
  const cluster = testCluster();
  let dir: string;
  let caFile: string;
  let caPem: string;
  const template = async (...sets: string[]): Promise<Rendered[]> =>
    parseObjects(expectOk(await cluster.helm(['template', 'attested-inference-operator', CHART_DIR, '--namespace', NS, ...sets.flatMap((s) => (s.startsWith('--') ? [s] : ['--set', s]))]), 'helm template'));
  const refused = async (...sets: string[]): Promise<string> => {
    const result = await cluster.helm(['template', 'refused', CHART_DIR, '--namespace', NS, ...sets.flatMap((s) => (s.startsWith('--') ? [s] : ['--set', s]))]);
    expect(result.code, sets.join(' ')).not.toBe(0);
    return result.stderr;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aio-chart-client-ca-'));
    caPem = (await createCertificateAuthority('webhook-client-ca')).certPem;
    caFile = join(dir, 'ca.crt');
    await writeFile(caFile, caPem);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('by default closes every port of the operator but the webhook port, which the API server reaches from outside the pod network', async () => {
    const objects = await template('webhook.enabled=true');
    const main = policy(objects, 'attested-inference-operator');
    expect(main.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'attested-inference-operator', 'app.kubernetes.io/instance': 'attested-inference-operator' } }, policyTypes: ['Ingress'], ingress: [] });
    const webhook = policy(objects, 'attested-inference-operator-webhook');
    expect(webhook.spec.policyTypes).toEqual(['Ingress']);
    expect(webhook.spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }], ports: [{ port: 'webhook', protocol: 'TCP' }] }]);
    expect(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.includes('webhook-client-ca'))).toEqual([]);
    expect(operatorContainer(objects).args.filter((a) => a.startsWith('--webhook-client'))).toEqual([]);
  });

  it('opens the metrics port to the listed peers, narrows the webhook port, restricts egress when asked, and renders no webhook policy without the webhook', async () => {
    const peers = JSON.stringify([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    const apiServer = JSON.stringify([{ ipBlock: { cidr: '10.0.0.0/24' } }]);
    const egress = JSON.stringify([{ ports: [{ port: 443, protocol: 'TCP' }] }]);
    const objects = await template('webhook.enabled=true', `--set-json=networkPolicy.metrics.from=${peers}`, `--set-json=networkPolicy.webhook.from=${apiServer}`, 'networkPolicy.egress.restrict=true', `--set-json=networkPolicy.egress.to=${egress}`);
    const main = policy(objects, 'attested-inference-operator');
    expect(main.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(main.spec.ingress).toEqual([{ from: JSON.parse(peers) as unknown[], ports: [{ port: 'http-metrics', protocol: 'TCP' }] }]);
    expect(main.spec.egress).toEqual(JSON.parse(egress));
    expect(policy(objects, 'attested-inference-operator-webhook').spec.ingress[0]!.from).toEqual(JSON.parse(apiServer));
    expect((await template()).filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual(['attested-inference-operator']);
    expect((await template('networkPolicy.enabled=false', 'webhook.enabled=true')).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  });

  it('gives the operator the API server client CA and the allowed names, from a bundle or an existing ConfigMap', async () => {
    const objects = await template('webhook.enabled=true', `--set-file=webhook.clientAuth.caBundle=${caFile}`, 'webhook.clientAuth.allowedNames={kube-apiserver-webhook-client}');
    const configMap = find(objects, 'ConfigMap', 'attested-inference-operator-webhook-client-ca') as unknown as { data: Record<string, string> };
    expect(configMap.data['ca.crt']!.trim()).toBe(caPem.trim());
    expect(operatorContainer(objects).args).toEqual(expect.arrayContaining(['--webhook-client-ca-file=/etc/attested-inference/webhook-client-ca/ca.crt', '--webhook-client-names=kube-apiserver-webhook-client']));
    const deployment = find(objects, 'Deployment') as unknown as { spec: { template: { metadata: { annotations: Record<string, string> }; spec: { volumes: { name: string; configMap?: { name: string } }[]; containers: { volumeMounts: { name: string; mountPath: string; readOnly: boolean }[] }[] } } } };
    expect(deployment.spec.template.spec.volumes.find((v) => v.name === 'webhook-client-ca')?.configMap?.name).toBe('attested-inference-operator-webhook-client-ca');
    expect(deployment.spec.template.spec.containers[0]!.volumeMounts).toContainEqual({ name: 'webhook-client-ca', mountPath: '/etc/attested-inference/webhook-client-ca', readOnly: true });
    expect(deployment.spec.template.metadata.annotations['checksum/webhook-client-ca']).toMatch(/^[0-9a-f]{64}$/);
    const existing = await template('webhook.enabled=true', 'webhook.clientAuth.existingConfigMap=apiserver-client-ca');
    expect(existing.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.includes('webhook-client-ca'))).toEqual([]);
    const volumes = (find(existing, 'Deployment') as unknown as typeof deployment).spec.template.spec.volumes;
    expect(volumes.find((v) => v.name === 'webhook-client-ca')?.configMap?.name).toBe('apiserver-client-ca');
    expect(operatorContainer(existing).args.filter((a) => a.startsWith('--webhook-client'))).toEqual(['--webhook-client-ca-file=/etc/attested-inference/webhook-client-ca/ca.crt']);
  });

  it('refuses values that would leave a port open or check names on nothing, naming the value', async () => {
    expect(await refused('webhook.enabled=true', 'webhook.clientAuth.allowedNames={kube-apiserver-webhook-client}')).toContain('webhook.clientAuth.allowedNames needs webhook.clientAuth.caBundle or existingConfigMap');
    expect(await refused('webhook.enabled=true', `--set-file=webhook.clientAuth.caBundle=${caFile}`, 'webhook.clientAuth.existingConfigMap=x')).toContain('webhook.clientAuth: set caBundle or existingConfigMap, not both');
    expect(await refused('webhook.clientAuth.caBundle=not-a-certificate')).toMatch(/\/webhook\/clientAuth\/caBundle': 'not-a-certificate' does not match pattern/);
    expect(await refused('webhook.clientAuth.allowedNames={*.example}')).toMatch(/\/webhook\/clientAuth\/allowedNames\/0'/);
    expect(await refused('webhook.enabled=true', '--set-json=networkPolicy.webhook.from=[]')).toContain('networkPolicy.webhook.from must list');
    expect(await refused('networkPolicy.egress.restrict=true')).toContain('networkPolicy.egress.to must list');
    expect(await refused('networkPolicy.ingress=true')).toMatch(/\/networkPolicy': additional properties 'ingress' not allowed/);
  });

  it('renders policies and the CA ConfigMap the real API server accepts (server-side dry run)', async () => {
    const ns = await createNamespace(cluster.core, 'aio-netpol');
    try {
      const rendered = expectOk(await cluster.helm(['template', 'attested-inference-operator', CHART_DIR, '--namespace', ns.name, '--set', 'webhook.enabled=true', `--set-file=webhook.clientAuth.caBundle=${caFile}`, '--set-json=networkPolicy.metrics.from=[{"podSelector":{}}]']), 'helm template');
      const objects = parseObjects(rendered).filter((o) => o.kind === 'NetworkPolicy' || o.metadata.name === 'attested-inference-operator-webhook-client-ca');
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['ConfigMap/attested-inference-operator-webhook-client-ca', 'NetworkPolicy/attested-inference-operator', 'NetworkPolicy/attested-inference-operator-webhook']);
      expectOk(await cluster.kubectl(['apply', '--dry-run=server', '-n', ns.name, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects })), 'kubectl apply --dry-run=server');
    } finally {
      await ns.remove();
    }
  });
});
