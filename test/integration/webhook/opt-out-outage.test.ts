import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { appNamespace, failureOf, podWith, readyEndpoint, startTestWebhook, waitForInjection, type TestWebhook } from './support.ts';

describe('pods that did not opt in, or opted out, never wait on the webhook', () => {
  const cluster = testCluster();
  let webhook: TestWebhook;
  let injected: Awaited<ReturnType<typeof appNamespace>>;
  let plain: Awaited<ReturnType<typeof appNamespace>>;

  beforeAll(async () => {
    await installCrd(cluster);
    webhook = await startTestWebhook(cluster, { name: 'outage', failurePolicy: 'Fail' });
    injected = await appNamespace(cluster, 'outage');
    plain = await appNamespace(cluster, 'outage-plain', { optedIn: false });
    await readyEndpoint(cluster, injected.name, 'chat');
    await waitForInjection(cluster, injected.name, podWith('probe'));
    // The webhook goes down; its configuration (failurePolicy: Fail) stays, as during an outage.
    await webhook.stop();
  });
  afterAll(async () => {
    await webhook.remove();
    await injected.remove();
    await plain.remove();
  });

  it('admits a pod that opted out in an injected namespace and refuses one that opted in', async () => {
    const out = await cluster.core.createNamespacedPod({ namespace: injected.name, body: podWith('opted-out', { 'inference.attested.dev/inject': 'false' }) });
    expect(out.metadata!.annotations!['inference.attested.dev/status']).toBeUndefined();
    expect(out.spec!.initContainers ?? []).toEqual([]);
    const disabled = await cluster.core.createNamespacedPod({ namespace: injected.name, body: podWith('disabled', { 'inference.attested.dev/inject': 'disabled' }) });
    expect(disabled.spec!.initContainers ?? []).toEqual([]);
    // failurePolicy Fail: a pod that wants the sidecar is refused rather than started without it.
    expect(await failureOf(cluster.core.createNamespacedPod({ namespace: injected.name, body: podWith('wants-it') }))).toMatch(/failed calling webhook/);
    expect(await failureOf(cluster.core.createNamespacedPod({ namespace: injected.name, body: podWith('names-it', { 'inference.attested.dev/inject': 'chat' }) }))).toMatch(/failed calling webhook/);
  });

  it('admits pods elsewhere that did not ask, and refuses one that asks by annotation', async () => {
    const quiet = await cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('quiet') });
    expect(quiet.spec!.initContainers ?? []).toEqual([]);
    const out = await cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('out', { 'inference.attested.dev/inject': 'false' }) });
    expect(out.spec!.initContainers ?? []).toEqual([]);
    expect(await failureOf(cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('asks', { 'inference.attested.dev/inject': 'chat' }) }))).toMatch(/failed calling webhook/);
  });
});
