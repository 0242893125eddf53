import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION, type InferenceEndpoint } from '../../../operator/api/v1alpha1/types.ts';
import { readAuditEvents, type AuditEvent } from '../../harness/audit.ts';
import { startControlPlane, type ControlPlane } from '../../harness/control-plane.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { tokenKubeconfig } from '../../harness/kubeconfig.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { signalGroup, waitFor } from '../../harness/processes.ts';
import type { TestCluster } from '../cluster.ts';
import { watchDeployments, type DeploymentWatch } from './rollout-watch.ts';
import { condition, createEndpoint, installCrd, simulatorEndpointSpec } from './support.ts';

const ENDPOINTS = 100;
const LEASE = 'attested-inference-operator';
const LEASE_DURATION_MS = 15_000;
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

type TimedAuditEvent = AuditEvent & { readonly requestReceivedTimestamp: string };
const at = (e: TimedAuditEvent): number => Date.parse(e.requestReceivedTimestamp);

/** operatorKubeconfig gives each operator replica a ServiceAccount of its own, so the audit log tells their requests apart. */
async function operatorKubeconfig(plane: ControlPlane, kc: KubeConfig, sa: { namespace: string; name: string; dir: string }): Promise<string> {
  const { namespace, name, dir } = sa;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const bound = await plane.kubectl(['create', 'clusterrolebinding', `${namespace}-${name}`, '--clusterrole=cluster-admin', `--serviceaccount=${namespace}:${name}`]);
  if (bound.code !== 0) throw new Error(bound.stderr);
  const token = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { expirationSeconds: 3600 } } });
  const file = join(dir, `${name}.kubeconfig`);
  await writeFile(file, tokenKubeconfig({ server: plane.server, caPem: plane.caPem, token: token.status?.token ?? '' }));
  return file;
}

/**
 * The leading operator is frozen (SIGSTOP) in the middle of a rollout of 100 endpoints, the other
 * replica takes the lease and finishes, then the frozen one wakes up (SIGCONT) with its reconciles
 * in flight and is killed (SIGKILL) once it noticed. The API server's audit log shows every request
 * by user and time (docs/adr/0015-leader-fencing-and-rollout-pacing.md).
 */
describe('killing the leading operator mid-rollout, on a control plane of its own with an audit log', () => {
  let plane: ControlPlane;
  let cluster: TestCluster;
  let simulator: EnclaveSimulator;
  let dir: string;
  const operators: OperatorProcess[] = [];
  let watch: DeploymentWatch | undefined;

  beforeAll(async () => {
    plane = await startControlPlane({ audit: true, nodes: 2, controllersQps: 200 });
    const kc = plane.kubeConfig();
    cluster = { kubeconfigPath: plane.kubeconfigPath, server: plane.server, kc, core: kc.makeApiClient(CoreV1Api), kubectl: (args, input) => plane.kubectl(args, input), helm: (args) => plane.helm(args) };
    await waitFor('the CRD to be served', async () => {
      await installCrd(cluster);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    simulator = await startEnclaveSimulator();
    dir = await mkdtemp(join(tmpdir(), 'aio-leader-kill-'));
  }, 120_000);
  afterAll(async () => {
    watch?.stop();
    for (const op of operators) await op.stop();
    await simulator.close();
    await plane.stop({ keepLogs: process.env.AIO_KEEP_LOGS === '1' });
    await rm(dir, { recursive: true, force: true });
  });

  it('the new leader finishes with one rollout record per endpoint, and the old one writes nothing once its lease ended', async () => {
    const { kc } = cluster;
    const began = Date.now();
    // Progress lines: when this scenario is slow on a loaded machine, they say which phase was.
    const mark = (phase: string): void => console.log(`[leader-kill] ${phase} after ${String(Date.now() - began)} ms`);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const leases = kc.makeApiClient(CoordinationV1Api);
    await cluster.core.createNamespace({ body: { metadata: { name: 'aio-system' } } });
    await cluster.core.createNamespace({ body: { metadata: { name: 'tenant' } } });
    const start = async (name: string): Promise<OperatorProcess> => {
      const kubeconfig = await operatorKubeconfig(plane, kc, { namespace: 'aio-system', name, dir });
      const op = await startOperatorProcess({ kubeconfig, logDir: dir, leaseNamespace: 'aio-system', name, extraArgs: ['--max-concurrent-rollouts=20'] });
      operators.push(op);
      return op;
    };
    const holder = async (): Promise<string | undefined> => (await leases.readNamespacedLease({ namespace: 'aio-system', name: LEASE })).spec?.holderIdentity;
    const a = await start('operator-a');
    await waitFor('operator-a to lead', async () => (await holder()) === 'operator-a', { timeoutMs: 30_000, intervalMs: 200, process: a.process });
    const b = await start('operator-b');

    const names = Array.from({ length: ENDPOINTS }, (_, i) => `e${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 20) await Promise.all(names.slice(i, i + 20).map((name) => createEndpoint(cluster, 'tenant', name, simulatorEndpointSpec(simulator, { replicas: 1 }))));
    const list = async (): Promise<InferenceEndpoint[]> => ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: 'tenant' })) as { items: InferenceEndpoint[] }).items;
    const before = simulator.release.releaseDigest;
    await waitFor('every endpoint to be Ready on the first release', async () => {
      const endpoints = await list();
      return endpoints.length === ENDPOINTS && endpoints.every((e) => e.status?.attestation?.releaseDigest === before && condition(e, 'Ready')?.status === 'True');
    }, { timeoutMs: 180_000, intervalMs: 1000, process: a.process });
    mark('all endpoints Ready');

    const next: { digest?: string } = {};
    watch = await watchDeployments(kc, 'tenant', () => next.digest);
    const after = simulator.switchRelease().releaseDigest;
    next.digest = after;
    // Mid-rollout: some Deployments carry the new release, most do not yet.
    await waitFor('the rollout to begin', () => Promise.resolve(watch!.stampedWith(after) >= 5), { timeoutMs: 60_000, intervalMs: 20, process: a.process });
    const pid = a.process.child.pid!;
    signalGroup(pid, 'SIGSTOP');
    mark(`operator-a frozen with ${String(watch.stampedWith(after))} Deployments on the new release`);
    await waitFor('operator-b to take the lease', async () => (await holder()) === 'operator-b', { timeoutMs: 60_000, intervalMs: 200, process: b.process });
    mark('operator-b leads');
    signalGroup(pid, 'SIGCONT');
    await waitFor('the woken operator-a to notice it lost the lease', async () => (await readFile(a.logFile, 'utf8')).includes('lost leadership'), { timeoutMs: 30_000, intervalMs: 100 });
    signalGroup(pid, 'SIGKILL');
    mark('operator-a noticed and was killed');

    await waitFor('operator-b to finish the rollout', async () => {
      const endpoints = await list();
      return watch!.stampedWith(after) === ENDPOINTS && endpoints.every((e) => e.status?.attestation?.releaseDigest === after && condition(e, 'Progressing')?.reason === 'RolloutComplete');
    }, { timeoutMs: 180_000, intervalMs: 1000, process: b.process });
    mark('operator-b finished the rollout');

    // Exactly one record of this transition per endpoint, none Progressing, and at most one Event each.
    const endpoints = await list();
    expect(endpoints.filter((e) => !(e.status?.attestation?.lastRollout?.fromDigest === before && e.status.attestation.lastRollout.toDigest === after)).map((e) => e.metadata.name)).toEqual([]);
    expect(endpoints.filter((e) => condition(e, 'Progressing')?.status !== 'False').map((e) => e.metadata.name)).toEqual([]);
    const events = (await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: 'tenant' })).items.filter((e) => e.reason === 'ReleaseChanged');
    const perEndpoint = new Map<string, number>();
    for (const e of events) perEndpoint.set(e.regarding?.name ?? '', (perEndpoint.get(e.regarding?.name ?? '') ?? 0) + (e.series?.count ?? 1));
    expect([...perEndpoint].filter(([, n]) => n > 1)).toEqual([]);

    // The audit log: when operator-a's lease ended, and whether it wrote anything after.
    const audit = (await readAuditEvents(plane.auditLog!)) as TimedAuditEvent[];
    const userA = 'system:serviceaccount:aio-system:operator-a';
    const userB = 'system:serviceaccount:aio-system:operator-b';
    const leaseWrite = (e: TimedAuditEvent, user: string): boolean => e.user.username === user && e.objectRef?.resource === 'leases' && e.objectRef.name === LEASE && WRITE_VERBS.has(e.verb) && (e.responseStatus?.code ?? 0) < 300;
    const acquiredByB = Math.min(...audit.filter((e) => leaseWrite(e, userB)).map(at));
    const lastRenewByA = Math.max(...audit.filter((e) => leaseWrite(e, userA) && at(e) < acquiredByB).map(at));
    const leaseEnded = Math.min(acquiredByB, lastRenewByA + LEASE_DURATION_MS);
    expect(Number.isFinite(leaseEnded)).toBe(true);
    const late = audit.filter((e) => e.user.username === userA && WRITE_VERBS.has(e.verb) && e.objectRef?.resource !== 'leases' && at(e) > leaseEnded);
    expect(late.map((e) => `${e.requestReceivedTimestamp} ${e.verb} ${e.requestURI} → ${String(e.responseStatus?.code)}`)).toEqual([]);
    // operator-a did write before: the check looks at a replica that was busy.
    expect(audit.filter((e) => e.user.username === userA && WRITE_VERBS.has(e.verb) && e.objectRef?.resource !== 'leases').length).toBeGreaterThan(ENDPOINTS);
  }, 420_000);
});
