import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { freePort } from '../../harness/processes.ts';
import { startTcpBalancer, type TcpBalancer } from '../../harness/tcp-balancer.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { apiServerClientAuth, appNamespace, podWith, readyEndpoint, waitForInjection } from './support.ts';

const DRAIN_SECONDS = 4;

/**
 * Two operator processes serve the webhook behind one address, as two replicas behind the
 * webhook's Service: the harness's loopback TCP balancer stands in for the Service and kube-proxy
 * (a backend whose /readyz fails gets no new connections; open ones stay). One replica gets
 * SIGTERM while pods are created without pause in an injected namespace under failurePolicy Fail.
 */
describe('a stopping operator drains its webhook', () => {
  const cluster = testCluster();
  const configurationName = `drain-injector-${String(process.pid)}`;
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let ns: Awaited<ReturnType<typeof appNamespace>>;
  let logDir: string;
  let balancer: TcpBalancer;
  const operators: OperatorProcess[] = [];

  beforeAll(async () => {
    await installCrd(cluster);
    system = await createNamespace(cluster.core, 'drain-system');
    ns = await appNamespace(cluster, 'drain');
    await readyEndpoint(cluster, ns.name, 'chat');
    logDir = await mkdtemp(join(tmpdir(), 'aio-webhook-drain-'));
    balancer = await startTcpBalancer({ probeMs: 250 });
    const clientAuth = apiServerClientAuth();
    for (const name of ['replica-a', 'replica-b']) {
      const port = await freePort();
      const operator = await startOperatorProcess({
        kubeconfig: cluster.kubeconfigPath,
        logDir,
        leaseNamespace: system.name,
        name,
        extraArgs: [
          `--webhook-url=https://127.0.0.1:${String(balancer.port)}`, `--webhook-port=${String(port)}`, '--webhook-host=127.0.0.1',
          `--webhook-configuration-name=${configurationName}`, `--webhook-drain-seconds=${String(DRAIN_SECONDS)}`,
          `--webhook-client-ca-file=${clientAuth.caFile}`, `--webhook-client-names=${clientAuth.allowedNames.join(',')}`,
        ],
      });
      operators.push(operator);
      await balancer.add({ name, port, readyUrl: `${operator.probeUrl}/readyz` });
    }
    await waitForInjection(cluster, ns.name, podWith('probe'));
  });
  afterAll(async () => {
    await Promise.all(operators.map((o) => o.stop()));
    await balancer.close();
    await cluster.kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: configurationName }).catch(() => undefined);
    await ns.remove();
    await system.remove();
    await rm(logDir, { recursive: true, force: true });
  });

  it('rejects no pod creation while one replica stops (SIGTERM) under failurePolicy Fail', async () => {
    expect(balancer.routed()).toEqual(['replica-a', 'replica-b']);
    const failures: string[] = [];
    let created = 0;
    let running = true;
    let n = 0;
    const worker = async (): Promise<void> => {
      while (running) {
        const name = `load-${String(n++)}`;
        try {
          const pod = await cluster.core.createNamespacedPod({ namespace: ns.name, body: podWith(name) });
          if (pod.metadata?.annotations?.['inference.attested.dev/status'] !== 'injected') failures.push(`${name}: not injected`);
          else created++;
        } catch (error) {
          failures.push(`${name}: ${(error as Error).message.split('\n')[0] ?? ''}`);
        }
      }
    };
    const workers = [worker(), worker(), worker()];
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stopping = Date.now();
    await operators[0]!.process.stop(30_000);
    const stoppedAfterMs = Date.now() - stopping;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(created).toBeGreaterThan(20);
    // It kept answering through its drain period, and the other replica took the traffic.
    expect(stoppedAfterMs).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000);
    expect(balancer.routed()).toEqual(['replica-b']);
    expect(balancer.connections()['replica-b']).toBeGreaterThan(0);
  });
});
