import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../packaging/chart.ts';
import { tokenKubeconfig } from '../../harness/kubeconfig.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { freePort, waitFor } from '../../harness/processes.ts';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { installChartRbac, type ChartRbac } from '../packaging/rbac-scenario.ts';
import { appNamespace, podWith, readyEndpoint, waitForInjection } from './support.ts';

const SECRET = 'attested-inference-webhook-tls';
const CONFIGURATION = 'attested-inference-sidecar-injector';

/** The operator runs with the chart's own RBAC, so what it may do about a deleted Secret is what it may do on a cluster. */
describe('a deleted webhook certificate Secret under a running operator', () => {
  const cluster = testCluster();
  let rbac: ChartRbac;
  let ns: Awaited<ReturnType<typeof appNamespace>> | undefined;
  let dir: string;
  let kubeconfig: string;
  let port: number;
  let operator: OperatorProcess | undefined;

  const start = async (): Promise<OperatorProcess> => startOperatorProcess({
    kubeconfig,
    logDir: dir,
    leaseNamespace: rbac.namespace,
    name: 'secret-operator',
    extraArgs: [`--webhook-url=https://127.0.0.1:${String(port)}`, `--webhook-port=${String(port)}`, '--webhook-host=127.0.0.1', '--webhook-certificate-check-seconds=1', '--webhook-drain-seconds=0'],
  });

  beforeAll(async () => {
    // `kubectl wait` right after the apply can find no conditions yet on a fresh API server: retry.
    await waitFor('the CRD to be served', async () => {
      await installCrd(cluster);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    dir = await mkdtemp(join(tmpdir(), 'aio-webhook-secret-'));
    port = await freePort();
    rbac = await installChartRbac(cluster, { release: 'aio-secret', namespace: 'aio-secret-system', sets: ['webhook.enabled=true', 'allowDevelopmentTrust=true'], webhookUrl: `https://127.0.0.1:${String(port)}` });
    const token = expectOk(await cluster.kubectl(['create', 'token', rbac.serviceAccount, '-n', rbac.namespace, '--duration=3600s']), 'kubectl create token').trim();
    const caPem = Buffer.from(cluster.kc.getCurrentCluster()?.caData ?? '', 'base64').toString('utf8');
    kubeconfig = join(dir, 'operator.kubeconfig');
    await writeFile(kubeconfig, tokenKubeconfig({ server: cluster.server, caPem, token }), { mode: 0o600 });
    ns = await appNamespace(cluster, 'secret');
    await readyEndpoint(cluster, ns.name, 'chat');
  });
  const namespace = (): string => ns?.name ?? '';
  afterAll(async () => {
    await operator?.stop();
    await cluster.kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: CONFIGURATION }).catch(() => undefined);
    await ns?.remove();
    const clusterScoped = rbac.objects.filter((o) => o.kind.startsWith('Cluster'));
    await cluster.kubectl(['delete', '--ignore-not-found', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: clusterScoped }));
    await cluster.kubectl(['delete', 'namespace', rbac.namespace, '--wait=false']);
    if (process.env.AIO_KEEP_LOGS !== "1") await rm(dir, { recursive: true, force: true });
  });

  it('is written back with the certificates in use, serving goes on, and the operator restarts cleanly', async () => {
    operator = await start();
    await waitForInjection(cluster, namespace(), podWith('probe'));
    const before = await cluster.core.readNamespacedSecret({ namespace: rbac.namespace, name: SECRET });
    await cluster.core.deleteNamespacedSecret({ namespace: rbac.namespace, name: SECRET });

    await waitFor('the Secret to be written back', async () => {
      const again = await cluster.core.readNamespacedSecret({ namespace: rbac.namespace, name: SECRET }).catch(() => undefined);
      return again?.data?.['ca.crt'] !== undefined;
    }, { timeoutMs: 15_000, intervalMs: 200, process: operator.process });
    const after = await cluster.core.readNamespacedSecret({ namespace: rbac.namespace, name: SECRET });
    // The same CA and serving pair: the API server's caBundle still verifies what is served.
    expect(after.data?.['ca.crt']).toBe(before.data?.['ca.crt']);
    expect(after.data?.['tls.crt']).toBe(before.data?.['tls.crt']);
    // Helm's labels stay, so `helm uninstall` still removes it.
    expect(after.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    const pod = await cluster.core.createNamespacedPod({ namespace: namespace(), body: podWith('after-delete') });
    expect(pod.metadata!.annotations!['inference.attested.dev/status']).toBe('injected');
    expect(operator.process.exited()).toBe(false);

    // A restart (a rollout, a crash) finds its certificates again instead of failing to start.
    await operator.stop();
    operator = await start();
    const restarted = await cluster.core.createNamespacedPod({ namespace: namespace(), body: podWith('after-restart') });
    expect(restarted.metadata!.annotations!['inference.attested.dev/status']).toBe('injected');
  });

  it('starts, and writes a new Secret, when the Secret is gone while no replica runs', async () => {
    await operator?.stop();
    operator = undefined;
    await cluster.core.deleteNamespacedSecret({ namespace: rbac.namespace, name: SECRET });
    operator = await start();
    await waitForInjection(cluster, namespace(), podWith('probe-2'));
    const secret = await cluster.core.readNamespacedSecret({ namespace: rbac.namespace, name: SECRET });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca-bundle.crt', 'ca-created-at', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
  });
});
