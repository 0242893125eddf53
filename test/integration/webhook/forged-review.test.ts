import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate } from '../../../operator/tls/pki.ts';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { ATTACKER_TEXT, forgedReview, sendDirect, servingCa, type DirectAnswer } from './forged.ts';
import { appNamespace, failureOf, metricValue, podWith, readyEndpoint, startTestWebhook, waitForInjection, type TestWebhook } from './support.ts';

const STATUS = 'inference.attested.dev/status';

/** revealed lists what of the victim namespace an answer gives away: its provider-key Secret, its sidecar ConfigMap, the proxy image. */
function revealed(answer: DirectAnswer): string[] {
  if ('error' in answer) return [];
  const decoded = (() => {
    try {
      const patch = (JSON.parse(answer.body) as { response?: { patch?: string } }).response?.patch;
      return patch === undefined ? '' : Buffer.from(patch, 'base64').toString('utf8');
    } catch {
      return '';
    }
  })();
  const text = answer.body + decoded;
  return ['provider-key', 'chat-proxy-sidecar-config', 'attested-inference-proxy:test'].filter((s) => text.includes(s));
}

function attackerEvents(webhook: TestWebhook): unknown[] {
  return webhook.events.filter((e) => JSON.stringify(e).includes(ATTACKER_TEXT));
}

describe('a forged AdmissionReview sent straight to the webhook, client authentication required', () => {
  const cluster = testCluster();
  let webhook: TestWebhook;
  let victim: Awaited<ReturnType<typeof appNamespace>>;

  beforeAll(async () => {
    await installCrd(cluster);
    victim = await appNamespace(cluster, 'forged-victim');
    await readyEndpoint(cluster, victim.name, 'chat');
    webhook = await startTestWebhook(cluster, { name: 'forged' });
    await waitForInjection(cluster, victim.name, podWith('probe'));
  });
  afterAll(async () => {
    await webhook.remove();
    await victim.remove();
  });

  it('refuses a caller without a client certificate at the handshake: nothing revealed, no Event, nothing counted', async () => {
    const before = webhook.events.length;
    const answer = await sendDirect({ port: webhook.port, ca: await servingCa(cluster, webhook.system), review: forgedReview(victim.name) });
    expect(answer).toHaveProperty('error');
    expect(revealed(answer)).toEqual([]);
    expect(attackerEvents(webhook)).toEqual([]);
    expect(webhook.events.length).toBe(before);
    expect(await metricValue(webhook.registry, 'injected', 'injected')).toBe(0);
  });

  it('refuses a client certificate from another CA at the handshake', async () => {
    const other = await createCertificateAuthority('not-the-api-server');
    const client = await issueCertificate(other, { commonName: 'kube-apiserver-webhook-client', usage: 'client' });
    const answer = await sendDirect({ port: webhook.port, ca: await servingCa(cluster, webhook.system), review: forgedReview(victim.name), client });
    expect(answer).toHaveProperty('error');
    expect(revealed(answer)).toEqual([]);
    expect(attackerEvents(webhook)).toEqual([]);
  });

  it('still injects pods the real API server admits, with Events', async () => {
    const pod = await cluster.core.createNamespacedPod({ namespace: victim.name, body: podWith('app') });
    expect(pod.metadata!.annotations![STATUS]).toBe('injected');
    expect(pod.spec!.initContainers!.map((c) => c.name)).toContain('attested-inference-proxy');
    expect(webhook.events.some((e) => e.reason === 'SidecarInjected' && e.regarding.metadata?.name === victim.name)).toBe(true);
  });
});

describe('a forged AdmissionReview sent straight to the webhook, client authentication not configured', () => {
  const cluster = testCluster();
  let webhook: TestWebhook;
  let victim: Awaited<ReturnType<typeof appNamespace>>;
  let empty: Awaited<ReturnType<typeof appNamespace>>;

  beforeAll(async () => {
    await installCrd(cluster);
    victim = await appNamespace(cluster, 'forged-open-victim');
    empty = await appNamespace(cluster, 'forged-open-empty');
    await readyEndpoint(cluster, victim.name, 'chat');
    webhook = await startTestWebhook(cluster, { name: 'forged-open', clientAuth: false });
    await waitForInjection(cluster, victim.name, podWith('probe'));
  });
  afterAll(async () => {
    await webhook.remove();
    await victim.remove();
    await empty.remove();
  });

  it('creates no Event from a forged review (logs and metrics only)', async () => {
    const answer = await sendDirect({ port: webhook.port, ca: await servingCa(cluster, webhook.system), review: forgedReview(victim.name) });
    expect(answer).toMatchObject({ status: 200 });
    expect(attackerEvents(webhook)).toEqual([]);
    expect(webhook.events).toEqual([]);
  });

  it('refuses a review whose request.namespace and object namespace disagree, revealing nothing', async () => {
    const answer = await sendDirect({ port: webhook.port, ca: await servingCa(cluster, webhook.system), review: forgedReview(victim.name, empty.name) });
    expect(answer).toMatchObject({ status: 400 });
    expect(revealed(answer)).toEqual([]);
  });

  it('injects real pods and says why on the pod when it does not, with no Event at all', async () => {
    const pod = await cluster.core.createNamespacedPod({ namespace: victim.name, body: podWith('app') });
    expect(pod.metadata!.annotations![STATUS]).toBe('injected');
    // (An opted-out pod is never sent to the webhook: matchConditions.)
    const host = await cluster.core.createNamespacedPod({ namespace: victim.name, body: podWith('host', {}, { hostNetwork: true }) });
    expect(host.metadata!.annotations![STATUS]).toBe('skipped:host-network');
    expect(await failureOf(cluster.core.createNamespacedPod({ namespace: empty.name, body: podWith('nodefault') }))).toContain('no-default-endpoint');
    expect(await metricValue(webhook.registry, 'rejected', 'no-default-endpoint')).toBe(1);
    expect(webhook.events).toEqual([]);
  });
});
