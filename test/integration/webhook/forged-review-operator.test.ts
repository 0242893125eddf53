import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, EventsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { freePort, waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { ATTACKER_TEXT, forgedReview, sendDirect, servingCa } from './forged.ts';
import { appNamespace, podWith, readyEndpoint, waitForInjection } from './support.ts';

async function injectedCount(probeUrl: string): Promise<number> {
  const metrics = await (await fetch(`${probeUrl}/metrics`)).text();
  return Number(/attested_inference_webhook_injections_total\{result="injected",reason="injected"\} (\d+)/.exec(metrics)?.[1] ?? 0);
}

describe('the operator process without webhook client authentication', () => {
  const cluster = testCluster();
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let victim: Awaited<ReturnType<typeof appNamespace>>;
  let logDir: string;
  let operator: OperatorProcess | undefined;
  let port: number;

  beforeAll(async () => {
    await installCrd(cluster);
    system = await createNamespace(cluster.core, 'webhook-open-system');
    victim = await appNamespace(cluster, 'webhook-open-victim');
    await readyEndpoint(cluster, victim.name, 'chat');
    logDir = await mkdtemp(join(tmpdir(), 'aio-webhook-open-'));
    port = await freePort();
    await cluster.core.createNamespacedSecret({ namespace: system.name, body: { metadata: { name: 'attested-inference-webhook-tls' }, type: 'Opaque' } });
    operator = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath,
      logDir,
      leaseNamespace: system.name,
      name: 'webhook-open-operator',
      extraArgs: [`--webhook-url=https://127.0.0.1:${String(port)}`, `--webhook-port=${String(port)}`, '--webhook-host=127.0.0.1', '--webhook-configuration-name=webhook-open-injector'],
    });
    await waitForInjection(cluster, victim.name, podWith('probe'));
  });
  afterAll(async () => {
    await operator?.stop();
    await cluster.kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: 'webhook-open-injector' }).catch(() => undefined);
    await victim.remove();
    await system.remove();
    await rm(logDir, { recursive: true, force: true });
  });

  it('writes no Event into the namespace a forged review names, nor for real pods, and says so in its log', async () => {
    const answer = await sendDirect({ port, ca: await servingCa(cluster, system.name), review: forgedReview(victim.name) });
    expect(answer).toMatchObject({ status: 200 });
    const pod = await cluster.core.createNamespacedPod({ namespace: victim.name, body: podWith('app') });
    expect(pod.metadata!.annotations!['inference.attested.dev/status']).toBe('injected');
    // Both admissions were decided (the metric counts them) before the Events are looked for.
    await waitFor('both admissions counted', async () => (await injectedCount(operator!.probeUrl)) >= 2, { timeoutMs: 10_000, intervalMs: 100 });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const events = (await cluster.kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: victim.name })).items;
    expect(events.filter((e) => JSON.stringify(e).includes(ATTACKER_TEXT))).toEqual([]);
    expect(events.filter((e) => e.reason?.startsWith('SidecarInjection') === true || e.reason === 'SidecarInjected')).toEqual([]);
    expect(await readFile(operator!.logFile, 'utf8')).toContain('webhook client authentication is off');
  });
});
