import { request } from 'node:https';
import { AppsV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPatch, patchFixture, podFixture } from '../../fixtures/webhook/patches.ts';
import { waitFor } from '../../harness/processes.ts';
import { SIDECAR_UID } from '../../../operator/webhook/sidecar.ts';
import { testCluster } from '../cluster.ts';
import { createEndpoint, installCrd } from '../operator/support.ts';
import { apiServerClient, appNamespace, failureOf, markReconciled, metricValue, podWith, readyEndpoint, startTestWebhook, waitForInjection, type TestWebhook } from './support.ts';

const STATUS = 'inference.attested.dev/status';

/** assertNoProviderKeyInApp: the app containers have no env var, file or mount of the provider key Secret (docs/architecture.md §5). */
function assertNoProviderKeyInApp(pod: V1Pod): void {
  const keyVolumes = (pod.spec?.volumes ?? []).filter((v) => v.secret?.secretName === 'provider-key' || v.projected?.sources?.some((s) => s.secret?.name === 'provider-key')).map((v) => v.name);
  expect(keyVolumes).toEqual(['attested-inference-provider-key']);
  const app = [...pod.spec!.containers, ...(pod.spec!.initContainers ?? []).filter((c) => c.name !== 'attested-inference-proxy')];
  for (const c of app) {
    expect((c.volumeMounts ?? []).filter((m) => keyVolumes.includes(m.name))).toEqual([]);
    expect((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef?.name === 'provider-key')).toEqual([]);
    expect((c.envFrom ?? []).filter((e) => e.secretRef?.name === 'provider-key')).toEqual([]);
  }
}

describe('sidecar injection through the real API server', () => {
  const cluster = testCluster();
  let webhook: TestWebhook;
  let single: Awaited<ReturnType<typeof appNamespace>>;
  let two: Awaited<ReturnType<typeof appNamespace>>;
  let plain: Awaited<ReturnType<typeof appNamespace>>;
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await installCrd(cluster);
    single = await appNamespace(cluster, 'inject');
    two = await appNamespace(cluster, 'inject-two');
    plain = await appNamespace(cluster, 'inject-plain', { optedIn: false });
    cleanup.push(() => single.remove(), () => two.remove(), () => plain.remove());
    await readyEndpoint(cluster, single.name, 'chat');
    await readyEndpoint(cluster, two.name, 'a');
    await readyEndpoint(cluster, two.name, 'b', false);
    await readyEndpoint(cluster, plain.name, 'chat');
    await createEndpoint(cluster, plain.name, 'keys', { provider: 'tinfoil', apiKeySecretRef: { name: 'provider-key' }, callers: { auth: 'static-keys', staticKeysSecretRef: { name: 'caller-keys' } } });
    await markReconciled(cluster, plain.name, 'keys');
    webhook = await startTestWebhook(cluster, { name: 'inject' });
    cleanup.unshift(() => webhook.remove());
    await waitForInjection(cluster, single.name, podWith('probe'));
  });
  afterAll(async () => {
    for (const step of cleanup) await step();
  });

  it('injects a Pod as the stored patch says, with the key in the sidecar only', async () => {
    const created = await cluster.core.createNamespacedPod({ namespace: single.name, body: podFixture('app') });
    const stored = await cluster.core.readNamespacedPod({ namespace: single.name, name: created.metadata!.name! });
    expect(stored).toMatchObject(applyPatch(podFixture('app'), patchFixture('app')));
    expect(stored.spec!.initContainers!.map((c) => c.name)).toEqual(['attested-inference-proxy', 'migrate']);
    expect(stored.spec!.initContainers![0]).toMatchObject({ restartPolicy: 'Always', startupProbe: { httpGet: { port: 15090, path: '/readyz' } } });
    assertNoProviderKeyInApp(stored);
    expect(await metricValue(webhook.registry, 'injected', 'injected')).toBeGreaterThanOrEqual(1);
  });

  it("injects a Deployment's pods in an opted-in namespace with its only endpoint, with Events on the ReplicaSet", async () => {
    const template = podFixture('web');
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace: single.name, body: { metadata: { name: 'web' }, spec: { replicas: 2, selector: { matchLabels: { app: 'chat-client' } }, template: { metadata: { labels: template.metadata!.labels! }, spec: template.spec! } } } });
    let pods: V1Pod[] = [];
    await waitFor('the Deployment pods', async () => {
      pods = (await cluster.core.listNamespacedPod({ namespace: single.name, labelSelector: 'app=chat-client,pod-template-hash' })).items;
      return pods.length === 2;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const expected = applyPatch(podFixture('web'), patchFixture('web'));
    Reflect.deleteProperty(expected.metadata!, 'generateName');
    for (const pod of pods) {
      // Listed pods carry no apiVersion and kind; compare what the patch shapes.
      expect({ metadata: pod.metadata, spec: pod.spec }).toMatchObject({ metadata: expected.metadata, spec: expected.spec });
      assertNoProviderKeyInApp(pod);
    }
    expect(webhook.events.some((e) => e.regarding.kind === 'ReplicaSet' && e.reason === 'SidecarInjected' && e.message.startsWith('injected:'))).toBe(true);
  });

  it('leaves an already-injected pod exactly as it is', async () => {
    const injected = applyPatch(podFixture('app'), patchFixture('app'));
    injected.metadata!.name = 'again';
    Reflect.deleteProperty(injected.metadata!.annotations!, STATUS);
    const stored = await cluster.core.createNamespacedPod({ namespace: single.name, body: injected });
    expect(stored.metadata!.annotations![STATUS]).toBeUndefined();
    expect(stored.spec!.initContainers!.filter((c) => c.name === 'attested-inference-proxy')).toHaveLength(1);
    expect(await metricValue(webhook.registry, 'skipped', 'already-injected')).toBeGreaterThanOrEqual(1);
  });

  it('is never asked about an opt-out, and records a host-network pod and a namespace without a default endpoint', async () => {
    // matchConditions keep opted-out pods away from the webhook, so they need it not even to be up.
    const out = await cluster.core.createNamespacedPod({ namespace: single.name, body: podWith('out', { 'inference.attested.dev/inject': 'false' }) });
    expect(out.metadata!.annotations![STATUS]).toBeUndefined();
    expect(out.spec!.initContainers ?? []).toEqual([]);
    expect(await metricValue(webhook.registry, 'skipped', 'opted-out')).toBe(0);
    const host = await cluster.core.createNamespacedPod({ namespace: single.name, body: podWith('host', {}, { hostNetwork: true }) });
    expect(host.metadata!.annotations![STATUS]).toBe('skipped:host-network');
    expect(await failureOf(cluster.core.createNamespacedPod({ namespace: two.name, body: podWith('nodefault') }))).toContain('no-default-endpoint');
    expect(webhook.events.some((e) => e.regarding.kind === 'Namespace' && e.regarding.metadata?.name === two.name && e.reason === 'SidecarInjectionRejected')).toBe(true);
    expect(await metricValue(webhook.registry, 'skipped', 'host-network')).toBeGreaterThanOrEqual(1);
  });

  it('picks the default endpoint the namespace names, and refuses an endpoint the operator has not reconciled yet', async () => {
    await cluster.core.patchNamespace({ name: two.name, body: [{ op: 'add', path: '/metadata/annotations', value: { 'inference.attested.dev/default-endpoint': 'a' } }] });
    const pod = await cluster.core.createNamespacedPod({ namespace: two.name, body: podWith('default-a') });
    expect(pod.metadata!.labels!['inference.attested.dev/endpoint']).toBe('a');
    expect(pod.spec!.volumes!.find((v) => v.name === 'attested-inference-config')?.configMap?.name).toBe('a-proxy-sidecar-config');
    expect(await failureOf(cluster.core.createNamespacedPod({ namespace: two.name, body: podWith('b', { 'inference.attested.dev/inject': 'b' }) }))).toContain('endpoint-not-ready');
    expect(await metricValue(webhook.registry, 'rejected', 'endpoint-not-ready')).toBe(1);
  });

  it('injects a pod that opts in by annotation outside opted-in namespaces, and is never called for the others', async () => {
    const before = await metricValue(webhook.registry, 'skipped', 'not-opted-in');
    const asked = await cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('asked', { 'inference.attested.dev/inject': 'chat' }) });
    expect(asked.metadata!.annotations![STATUS]).toBe('injected');
    const other = await cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('other') });
    expect(other.metadata!.annotations?.[STATUS]).toBeUndefined();
    expect(await metricValue(webhook.registry, 'skipped', 'not-opted-in')).toBe(before);
  });

  it("refuses pods that would reach the sidecar's key: a shared process namespace, an app mounting the key volume, an app at the sidecar's UID", async () => {
    const attempts: [string, V1Pod, string][] = [
      ['shared-process-namespace', podWith('shared-pid', {}, { shareProcessNamespace: true }), 'spec.shareProcessNamespace'],
      ['app-mounts-sidecar-volume', podWith('mounts-key', {}, { containers: [{ name: 'app', image: 'registry.local/app:1', volumeMounts: [{ name: 'attested-inference-provider-key', mountPath: '/stolen' }] }] }), 'spec.containers[0].volumeMounts[0].name'],
      ['shared-uid', podWith('same-uid', {}, { securityContext: { runAsUser: SIDECAR_UID } }), 'spec.securityContext.runAsUser'],
    ];
    // Soft assertions: each attempt is seen on its own, whichever fails.
    for (const [reason, pod, field] of attempts) {
      const failure = await failureOf(cluster.core.createNamespacedPod({ namespace: single.name, body: pod }));
      expect.soft(failure, reason).toContain(`attested-inference sidecar injection refused the pod (${reason})`);
      expect.soft(failure, reason).toContain(field);
      const stored = await cluster.core.readNamespacedPod({ namespace: single.name, name: pod.metadata!.name! }).catch(() => undefined);
      expect.soft(stored?.spec?.volumes?.map((v) => v.name), reason).toBeUndefined();
      expect.soft(await metricValue(webhook.registry, 'rejected', reason), reason).toBe(1);
    }
  });

  it("gives a static-keys endpoint's sidecar no caller-keys Secret: its loopback listener authenticates no callers", async () => {
    const pod = await cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('keys', { 'inference.attested.dev/inject': 'keys' }) });
    expect(pod.metadata!.annotations![STATUS]).toBe('injected');
    const secrets = (pod.spec!.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : []));
    expect(secrets).toEqual(['provider-key']);
    expect(pod.spec!.initContainers![0]!.volumeMounts!.map((m) => m.name)).toEqual(['attested-inference-config', 'attested-inference-provider-key']);
  });

  it('answers not-opted-in when asked about a pod nobody opted in (a review sent straight to the server with its client certificate)', async () => {
    const ca = (await cluster.core.readNamespacedSecret({ namespace: webhook.system, name: 'attested-inference-webhook-tls' })).data!['ca-bundle.crt']!;
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'direct', namespace: plain.name, operation: 'CREATE', object: podWith('direct') } };
    const client = apiServerClient();
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: webhook.port, path: '/mutate-pods', method: 'POST', ca: Buffer.from(ca, 'base64'), cert: client.certPem, key: client.keyPem, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(JSON.stringify(review));
    });
    expect(JSON.parse(body)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'direct', allowed: true } });
    expect(await metricValue(webhook.registry, 'skipped', 'not-opted-in')).toBe(1);
  });
});
