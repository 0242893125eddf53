import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, EventsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { freePort, waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { apiServerClientAuth, appNamespace, podWith, readyEndpoint, waitForInjection } from './support.ts';

describe('the operator process serves the webhook when given --webhook-url', () => {
  const cluster = testCluster();
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let ns: Awaited<ReturnType<typeof appNamespace>>;
  let logDir: string;
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await installCrd(cluster);
    system = await createNamespace(cluster.core, 'webhook-op-system');
    ns = await appNamespace(cluster, 'webhook-op');
    await readyEndpoint(cluster, ns.name, 'chat');
    logDir = await mkdtemp(join(tmpdir(), 'aio-webhook-operator-'));
  });
  afterAll(async () => {
    await operator?.stop();
    await cluster.kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: 'attested-inference-sidecar-injector' }).catch(() => undefined);
    await ns.remove();
    await system.remove();
    await rm(logDir, { recursive: true, force: true });
  });

  it('injects pods, counts them on /metrics and records Events, with its certificate in its own namespace', async () => {
    const port = await freePort();
    const clientAuth = apiServerClientAuth();
    // The chart creates the Secret empty; the operator fills it in (it has no `create` on Secrets
    // there) and keeps Helm's label and annotations, without which `helm uninstall` leaves it behind.
    const helmOwned = { labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'aio', 'meta.helm.sh/release-namespace': system.name } };
    await cluster.core.createNamespacedSecret({ namespace: system.name, body: { metadata: { name: 'attested-inference-webhook-tls', ...helmOwned }, type: 'Opaque' } });
    operator = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath,
      logDir,
      leaseNamespace: system.name,
      name: 'webhook-operator',
      extraArgs: [`--webhook-url=https://127.0.0.1:${String(port)}`, `--webhook-port=${String(port)}`, '--webhook-host=127.0.0.1', `--webhook-client-ca-file=${clientAuth.caFile}`, `--webhook-client-names=${clientAuth.allowedNames.join(',')}`],
    });
    await waitForInjection(cluster, ns.name, podWith('probe'));
    const pod = await cluster.core.createNamespacedPod({ namespace: ns.name, body: podWith('app') });
    expect(pod.metadata!.annotations!['inference.attested.dev/status']).toBe('injected');
    expect(pod.spec!.initContainers![0]!.image).toBe('registry.local/attested-inference-proxy:dev');
    const secret = await cluster.core.readNamespacedSecret({ namespace: system.name, name: 'attested-inference-webhook-tls' });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca-bundle.crt', 'ca-created-at', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata).toMatchObject(helmOwned);
    const metrics = await (await fetch(`${operator.probeUrl}/metrics`)).text();
    expect(metrics).toMatch(/attested_inference_webhook_injections_total\{result="injected",reason="injected"\} [1-9]/);
    const events = cluster.kc.makeApiClient(EventsV1Api);
    await waitFor('the SidecarInjected Event on the namespace', async () => {
      const list = await events.listNamespacedEvent({ namespace: ns.name });
      return list.items.some((e) => e.reason === 'SidecarInjected' && e.regarding?.kind === 'Namespace' && e.note?.startsWith('injected:') === true);
    }, { timeoutMs: 20_000, intervalMs: 250 });
  });
});
