import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../harness/processes.ts';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { appNamespace, failureOf, podWith, readyEndpoint, startTestWebhook, waitForInjection, type TestWebhook } from './support.ts';

describe('the webhook down, with each failurePolicy', () => {
  const cluster = testCluster();
  const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api);
  let ns: Awaited<ReturnType<typeof appNamespace>>;
  let plain: Awaited<ReturnType<typeof appNamespace>>;
  let webhook: TestWebhook | undefined;

  beforeAll(async () => {
    await installCrd(cluster);
    ns = await appNamespace(cluster, 'policy');
    plain = await appNamespace(cluster, 'policy-plain', { optedIn: false });
    await readyEndpoint(cluster, ns.name, 'chat');
  });
  afterEach(async () => {
    await webhook?.remove();
    webhook = undefined;
  });
  afterAll(async () => {
    await ns.remove();
    await plain.remove();
  });

  /** startThenStop starts the webhook, then stops the HTTPS server but leaves the configuration registered, as an operator outage would. */
  async function startThenStop(failurePolicy: 'Fail' | 'Ignore', name: string): Promise<TestWebhook> {
    const w = await startTestWebhook(cluster, { name, failurePolicy });
    await waitForInjection(cluster, ns.name, podWith('probe'));
    await w.stop();
    const configuration = await admission.readMutatingWebhookConfiguration({ name: w.configurationName });
    expect(configuration.webhooks!.map((h) => h.failurePolicy)).toEqual([failurePolicy, failurePolicy]);
    return w;
  }

  it('Fail: a pod that asked for the sidecar is refused with a clear error; pods that did not ask are not affected', async () => {
    webhook = await startThenStop('Fail', 'policy-fail');
    const error = await failureOf(cluster.core.createNamespacedPod({ namespace: ns.name, body: podWith('refused') }));
    expect(error).toMatch(/failed calling webhook .*namespaces\.sidecar\.inference\.attested\.dev.*connection refused/);
    const annotated = await failureOf(cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('refused', { 'inference.attested.dev/inject': 'chat' }) }));
    expect(annotated).toMatch(/failed calling webhook .*pods\.sidecar\.inference\.attested\.dev/);
    const other = await cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('bystander') });
    expect(other.metadata!.annotations?.['inference.attested.dev/status']).toBeUndefined();
    const optedOut = await cluster.core.createNamespacedPod({ namespace: plain.name, body: podWith('out', { 'inference.attested.dev/inject': 'false' }) });
    expect(optedOut.spec!.initContainers ?? []).toEqual([]);
  });

  it('Ignore: the pod is created without the sidecar', async () => {
    webhook = await startThenStop('Ignore', 'policy-ignore');
    let created: Awaited<ReturnType<typeof cluster.core.createNamespacedPod>> | undefined;
    await waitFor('the pod to be admitted without the webhook', async () => {
      created = await cluster.core.createNamespacedPod({ namespace: ns.name, body: podWith('ignored') });
      return true;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    expect(created!.spec!.initContainers ?? []).toEqual([]);
    expect(created!.metadata!.annotations?.['inference.attested.dev/status']).toBeUndefined();
  });
});
