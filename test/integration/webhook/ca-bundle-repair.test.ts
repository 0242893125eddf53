import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../harness/processes.ts';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { appNamespace, podWith, readyEndpoint, startTestWebhook, waitForInjection, type TestWebhook } from './support.ts';

const INTERVAL_MS = 1000;

describe('the caBundle is repaired while the webhook runs', () => {
  const cluster = testCluster();
  const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api);
  let webhook: TestWebhook;
  let ns: Awaited<ReturnType<typeof appNamespace>>;

  beforeAll(async () => {
    await installCrd(cluster);
    webhook = await startTestWebhook(cluster, { name: 'cabundle', certificateIntervalMs: INTERVAL_MS });
    ns = await appNamespace(cluster, 'cabundle');
    await readyEndpoint(cluster, ns.name, 'chat');
    await waitForInjection(cluster, ns.name, podWith('probe'));
  });
  afterAll(async () => {
    await webhook.remove();
    await ns.remove();
  });

  const bundles = async (): Promise<string[]> => (await admission.readMutatingWebhookConfiguration({ name: webhook.configurationName })).webhooks!.map((w) => w.clientConfig.caBundle ?? '');

  it('restores a caBundle blanked on the API server (as `helm upgrade --force` leaves it) within the period', async () => {
    const published = await bundles();
    expect(published.every((b) => b !== '')).toBe(true);
    // What a re-applied chart does: the webhooks come back without a caBundle.
    await admission.patchMutatingWebhookConfiguration({ name: webhook.configurationName, body: published.map((_, i) => ({ op: 'remove', path: `/webhooks/${String(i)}/clientConfig/caBundle` })) });
    expect(await bundles()).toEqual(published.map(() => ''));
    const blanked = Date.now();
    await waitFor('the caBundle to be published again', async () => (await bundles()).every((b, i) => b === published[i]), { timeoutMs: 10 * INTERVAL_MS, intervalMs: 100 });
    expect(Date.now() - blanked).toBeLessThan(5 * INTERVAL_MS);
    const pod = await cluster.core.createNamespacedPod({ namespace: ns.name, body: podWith('after-repair') });
    expect(pod.metadata!.annotations!['inference.attested.dev/status']).toBe('injected');
  });

  it('restores a webhook entry whose other fields were changed (a failurePolicy edited away)', async () => {
    const live = await admission.readMutatingWebhookConfiguration({ name: webhook.configurationName });
    expect(live.webhooks![0]!.failurePolicy).toBe('Fail');
    await admission.patchMutatingWebhookConfiguration({ name: webhook.configurationName, body: [{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' }] });
    await waitFor('the failurePolicy to be restored', async () => (await admission.readMutatingWebhookConfiguration({ name: webhook.configurationName })).webhooks![0]!.failurePolicy === 'Fail', { timeoutMs: 10 * INTERVAL_MS, intervalMs: 100 });
  });
});
