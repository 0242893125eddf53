import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBlackhole, type Blackhole } from '../../harness/blackhole.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, simulatorEndpointSpec } from './support.ts';

/**
 * Four endpoints whose attestation services accept connections and never answer must not hold up
 * an unrelated endpoint: no reconcile waits on the network (docs/adr/0015-leader-fencing-and-rollout-pacing.md).
 */
describe('blackholed upstreams, with the operator as a process', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let simulator: EnclaveSimulator;
  let blackhole: Blackhole;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let logDir: string;
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    blackhole = await startBlackhole();
    ns = await createNamespace(cluster.core, 'blackhole');
    system = await createNamespace(cluster.core, 'blackhole-system');
    logDir = await mkdtemp(join(tmpdir(), 'aio-blackhole-'));
  });
  afterAll(async () => {
    await operator?.stop();
    await ns.remove();
    await system.remove();
    await blackhole.close();
    await simulator.close();
    await rm(logDir, { recursive: true, force: true });
  });

  it('reconciles an unrelated endpoint while four attestation services hang', async () => {
    operator = await startOperatorProcess({ kubeconfig: cluster.kubeconfigPath, logDir, leaseNamespace: system.name, name: 'blackhole-operator', extraArgs: [`--namespaces=${ns.name}`] });
    // Four distinct upstreams (one per bundle URL), at least as many as the operator has workers.
    for (const n of [1, 2, 3, 4]) {
      await createEndpoint(cluster, ns.name, `hung-${String(n)}`, simulatorEndpointSpec(simulator, { replicas: 1, attestation: { bundleUrl: `${blackhole.url}/hung-${String(n)}` } }));
    }
    await waitFor('the operator to be stuck on four connections to the blackhole', () => Promise.resolve(blackhole.accepted.length >= 4), { timeoutMs: 60_000, intervalMs: 50, process: operator.process });
    const created = Date.now();
    await createEndpoint(cluster, ns.name, 'unrelated', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await waitFor('the unrelated endpoint to be reconciled and attested', async () => {
      const endpoint = await readEndpoint(cluster, ns.name, 'unrelated');
      if (condition(endpoint, 'Attested')?.reason !== 'DevelopmentTrust') return false;
      await apps.readNamespacedDeployment({ namespace: ns.name, name: 'unrelated-proxy' });
      return true;
    }, { timeoutMs: 60_000, intervalMs: 50, process: operator.process });
    const reconciled = Date.now();
    // The hung verifications are still hanging (the first closes at their fetch timeout, 10 s): nothing waited for them.
    const firstClose = Math.min(...blackhole.closed, Number.POSITIVE_INFINITY);
    const detail = `reconciled ${String(reconciled - created)} ms after creation; first blackhole connection closed ${String(firstClose - created)} ms after`;
    expect(reconciled, detail).toBeLessThan(firstClose);
    // A worker held for one of them waits out the fetch timeout (10 s); well under it, none did.
    expect(reconciled - created, detail).toBeLessThan(8000);
    // The hung endpoints say they are waiting, and got no Deployment yet (no pods before a first verification).
    expect(condition(await readEndpoint(cluster, ns.name, 'hung-1'), 'Attested')).toMatchObject({ status: 'Unknown', reason: 'Pending' });
    // Once the fetches time out, they fail closed, with a clear reason.
    await waitFor('the hung upstreams to fail', async () => condition(await readEndpoint(cluster, ns.name, 'hung-1'), 'Attested')?.reason === 'AttestationFailed', { timeoutMs: 60_000, intervalMs: 250, process: operator.process });
    expect(condition(await readEndpoint(cluster, ns.name, 'hung-1'), 'Attested')?.message).toMatch(/timed out/);
  });
});
