import { KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInPolicy } from '../../../operator/policy/model.ts';
import { startWebhook, type RunningWebhook } from '../../../operator/webhook/start.ts';
import { readAuditEvents, type AuditEvent } from '../../harness/audit.ts';
import { tokenKubeconfig } from '../../harness/kubeconfig.ts';
import { freePort } from '../../harness/processes.ts';
import { expectOk } from '../packaging/chart.ts';
import { startAuditedCluster, type AuditedCluster } from '../packaging/rbac-scenario.ts';
import { appNamespace, podWith, readyEndpoint, waitForInjection } from './support.ts';

const ADMISSIONS_PER_KIND = 10;

/** received is when the API server got the request (audit.k8s.io/v1 Event, requestReceivedTimestamp). */
function received(event: AuditEvent): number {
  return Date.parse((event as AuditEvent & { requestReceivedTimestamp: string }).requestReceivedTimestamp);
}

/**
 * The webhook runs in this process under an identity of its own (a ServiceAccount token), against
 * an API server of this test's that writes an audit log, so every request it makes is on record.
 */
describe('admission answers from caches', () => {
  let cluster: AuditedCluster;
  let webhook: RunningWebhook | undefined;
  let username: string;

  beforeAll(async () => {
    cluster = await startAuditedCluster();
    expectOk(await cluster.kubectl(['create', 'namespace', 'webhook-audit']), 'kubectl create namespace');
    expectOk(await cluster.kubectl(['create', 'serviceaccount', 'webhook', '-n', 'webhook-audit']), 'kubectl create serviceaccount');
    await cluster.kc.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({ body: { metadata: { name: 'webhook-audit' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'webhook', namespace: 'webhook-audit' }] } });
    username = 'system:serviceaccount:webhook-audit:webhook';
    const token = expectOk(await cluster.kubectl(['create', 'token', 'webhook', '-n', 'webhook-audit', '--duration=3600s']), 'kubectl create token').trim();
    const kc = new KubeConfig();
    kc.loadFromString(tokenKubeconfig({ server: cluster.server, caPem: cluster.caPem, token }));
    const port = await freePort();
    webhook = await startWebhook({ kc, logger: pino({ level: 'silent' }), registry: new Registry(), event: () => undefined }, {
      host: '127.0.0.1',
      port,
      client: { url: `https://127.0.0.1:${String(port)}` },
      namespace: 'webhook-audit',
      secretName: 'attested-inference-webhook-tls',
      configurationName: 'cached-admission',
      failureMode: 'reject',
      failurePolicy: 'Fail',
      image: { image: 'registry.local/attested-inference-proxy:test', pullPolicy: 'IfNotPresent' },
      policy: { policy: builtInPolicy(true), proxyImage: 'registry.local/attested-inference-proxy:test', allowDevelopmentTrust: true },
      // No certificate pass during the admissions below: it reads the Secret and the configuration.
      certificateIntervalMs: 600_000,
      drainMs: 0,
    });
  });
  afterAll(async () => {
    await webhook?.stop();
    await cluster.stop();
  });

  it(`makes no GET or LIST for ${String(3 * ADMISSIONS_PER_KIND)} admissions`, async () => {
    const opted = await appNamespace(cluster, 'cached');
    const plain = await appNamespace(cluster, 'cached-plain', { optedIn: false });
    await readyEndpoint(cluster, opted.name, 'chat');
    await readyEndpoint(cluster, plain.name, 'chat');
    await waitForInjection(cluster, opted.name, podWith('probe'));
    await waitForInjection(cluster, plain.name, podWith('probe', { 'inference.attested.dev/inject': 'chat' }));
    const from = Date.now();
    const statuses: string[] = [];
    for (let i = 0; i < ADMISSIONS_PER_KIND; i++) {
      const pods = await Promise.all([
        cluster.core.createNamespacedPod({ namespace: opted.name, body: podWith(`default-${String(i)}`) }),
        cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith(`named-${String(i)}`, { 'inference.attested.dev/inject': 'chat' }) }),
        cluster.core.createNamespacedPod({ namespace: opted.name, body: podWith(`host-${String(i)}`, {}, { hostNetwork: true }) }),
      ]);
      statuses.push(...pods.map((p) => p.metadata?.annotations?.['inference.attested.dev/status'] ?? ''));
    }
    const to = Date.now();
    expect(new Set(statuses)).toEqual(new Set(['injected', 'skipped:host-network']));
    const mine = (await readAuditEvents(cluster.auditLog)).filter((e) => e.user.username === username);
    const reads = mine.filter((e) => (e.verb === 'get' || e.verb === 'list') && received(e) >= from && received(e) <= to);
    expect(reads.map((e) => `${e.verb} ${e.requestURI}`)).toEqual([]);
    // The identity is right: the caches listed under it when the webhook started (their watches are still open, so not yet in the log).
    expect(mine.filter((e) => e.verb === 'list' && received(e) < from).map((e) => e.objectRef?.resource)).toEqual(expect.arrayContaining(['inferenceendpoints', 'namespaces']));
  });
});
