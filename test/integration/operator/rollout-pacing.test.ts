import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type InferenceEndpoint } from '../../../operator/api/v1alpha1/types.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { watchDeployments, type DeploymentWatch } from './rollout-watch.ts';
import { condition, createEndpoint, installCrd, simulatorEndpointSpec } from './support.ts';

const ENDPOINTS = 50;
const MAX_CONCURRENT = 5;

/**
 * Fifty endpoints on one upstream whose release changes: the operator rolls at most
 * --max-concurrent-rollouts of them at a time, the next when one has rolled out, and its own
 * verifications of the upstream are spread by jitter (docs/adr/0015-leader-fencing-and-rollout-pacing.md).
 */
describe('rollout pacing per upstream, with the operator as a process', () => {
  const cluster = testCluster();
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let logDir: string;
  let operator: OperatorProcess | undefined;
  let watch: DeploymentWatch | undefined;
  const list = async (): Promise<InferenceEndpoint[]> => ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.name })) as { items: InferenceEndpoint[] }).items;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await createNamespace(cluster.core, 'pacing');
    system = await createNamespace(cluster.core, 'pacing-system');
    logDir = await mkdtemp(join(tmpdir(), 'aio-pacing-'));
  });
  afterAll(async () => {
    watch?.stop();
    await operator?.stop();
    await ns.remove();
    await system.remove();
    await simulator.close();
    await rm(logDir, { recursive: true, force: true });
  });

  it('rolls at most N endpoints of the upstream at a time and spreads its verifications', async () => {
    const began = Date.now();
    // Progress lines: when this scenario is slow on a loaded machine, they say which phase was.
    const mark = (phase: string): void => console.log(`[rollout-pacing] ${phase} after ${String(Date.now() - began)} ms`);
    operator = await startOperatorProcess({ kubeconfig: cluster.kubeconfigPath, logDir, leaseNamespace: system.name, name: 'pacing-operator', extraArgs: [`--namespaces=${ns.name}`, `--max-concurrent-rollouts=${String(MAX_CONCURRENT)}`] });
    const names = Array.from({ length: ENDPOINTS }, (_, i) => `e${String(i).padStart(2, '0')}`);
    await Promise.all(names.map((name) => createEndpoint(cluster, ns.name, name, simulatorEndpointSpec(simulator, { replicas: 1 }))));
    const allRolledOutTo = async (digest: string): Promise<boolean> => {
      const endpoints = await list();
      return endpoints.length === ENDPOINTS && endpoints.every((e) => e.status?.attestation?.releaseDigest === digest && condition(e, 'Progressing')?.reason === 'RolloutComplete' && condition(e, 'Ready')?.status === 'True');
    };
    const before = simulator.release.releaseDigest;
    await waitFor('every endpoint to be Ready on the first release', () => allRolledOutTo(before), { timeoutMs: 120_000, intervalMs: 500, process: operator.process });
    mark('all endpoints Ready');

    const next: { digest?: string } = {};
    watch = await watchDeployments(cluster.kc, ns.name, () => next.digest);
    const target = simulator.switchRelease().releaseDigest;
    next.digest = target;
    await waitFor('every endpoint to roll to the new release', async () => {
      const endpoints = await list();
      return watch!.stampedWith(target) === ENDPOINTS && endpoints.every((e) => e.status?.attestation?.lastRollout?.toDigest === target && condition(e, 'Progressing')?.reason === 'RolloutComplete');
    }, { timeoutMs: 150_000, intervalMs: 500, process: operator.process });
    mark(`rolled out, at most ${String(watch.rollingPeak())} at a time`);
    // Paced: never more than N rolling at once, and more than one at a time (it does not serialise them either).
    expect(watch.rollingPeak()).toBeLessThanOrEqual(MAX_CONCURRENT);
    expect(watch.rollingPeak()).toBeGreaterThan(1);
    const waited = await cluster.kubectl(['get', 'events', '-n', ns.name, '--field-selector', 'reason=RolloutWaiting', '-o', 'name']);
    expect(waited.stdout.trim().split('\n').filter(Boolean).length).toBeGreaterThan(0);

    // Jitter: the operator's verifications of the upstream (every /attestation request here is its own: no proxy runs on simulated nodes) are not spaced at exactly the recheck interval.
    await waitFor('six verifications', () => Promise.resolve(simulator.requests().filter((r) => r.path === '/attestation').length >= 6), { timeoutMs: 90_000, intervalMs: 500, process: operator.process });
    const times = simulator.requests().filter((r) => r.path === '/attestation').map((r) => r.time.getTime());
    const gaps = times.slice(1).map((t, i) => t - times[i]!).slice(-5);
    expect(Math.max(...gaps) - Math.min(...gaps), `gaps between verifications: ${gaps.join(', ')} ms`).toBeGreaterThan(100);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(10_500);
  }, 300_000);
});
