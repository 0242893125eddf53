import { CoordinationV1Api, EventsV1Api, KubernetesObjectApi, PatchStrategy, type V1ConfigMap } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../../operator/controller/controller.ts';
import { EventRecorder, kubernetesEventSink } from '../../../operator/controller/events.ts';
import { ResourceInformer, type ResourceType } from '../../../operator/controller/informer.ts';
import { splitKey } from '../../../operator/controller/keys.ts';
import { LeaderElector } from '../../../operator/controller/leader-election.ts';
import { kubernetesLeaseStore } from '../../../operator/controller/lease-store.ts';
import { Manager } from '../../../operator/controller/manager.ts';
import { createControllerMetrics } from '../../../operator/controller/metrics.ts';
import { startProbeServer, type ProbeServer } from '../../../operator/controller/probes.ts';
import { createNamespace, testCluster, type TestCluster } from '../cluster.ts';
import { eventually, quietLogger } from './controller-helpers.ts';

const CONFIGMAPS: ResourceType = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
const COPIED = 'test.attested.dev/copied';
const BY = 'test.attested.dev/copied-by';

/** Replica is one operator process in miniature: informer, controller, elector, manager and probes. */
interface Replica {
  readonly identity: string;
  readonly manager: Manager;
  readonly probes: ProbeServer;
  readonly reconciled: string[];
  readonly registry: Registry;
}

/**
 * copyReconciler copies a ConfigMap's data into an annotation by server-side apply. A ConfigMap
 * with `failTimes: n` fails its first n reconciles (per replica); one with `recheckMs` asks to be
 * looked at again after that long.
 */
function copyReconciler(cluster: TestCluster, informer: ResourceInformer<V1ConfigMap>, identity: string, reconciled: string[]): (key: string) => Promise<{ requeueAfterMs?: number }> {
  const objects = KubernetesObjectApi.makeApiClient(cluster.kc);
  const attempts = new Map<string, number>();
  return async (key) => {
    reconciled.push(key);
    const { namespace, name } = splitKey(key);
    const cm = informer.get(namespace, name);
    if (cm === undefined) return {};
    const recheck = cm.data?.recheckMs === undefined ? {} : { requeueAfterMs: Number(cm.data.recheckMs) };
    const copied = JSON.stringify(cm.data ?? {});
    if (cm.metadata?.annotations?.[COPIED] === copied) return recheck;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    if (attempt <= Number(cm.data?.failTimes ?? '0')) throw new Error(`failing on purpose, attempt ${attempt}`);
    await objects.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, annotations: { [COPIED]: copied, [BY]: identity } } },
      undefined, undefined, 'copy-controller', true, PatchStrategy.ServerSideApply,
    );
    return recheck;
  };
}

async function startReplica(cluster: TestCluster, namespace: string, identity: string): Promise<Replica> {
  const logger = quietLogger();
  const registry = new Registry();
  const metrics = createControllerMetrics(registry);
  const informer = new ResourceInformer<V1ConfigMap>({ kc: cluster.kc, logger }, { resource: CONFIGMAPS, namespaces: [namespace] });
  const reconciled: string[] = [];
  const controller = new Controller({ logger, metrics }, {
    name: 'copy',
    primary: informer,
    reconcile: copyReconciler(cluster, informer, identity, reconciled),
    rateLimits: { baseDelayMs: 50, maxDelayMs: 1_000 },
  });
  const store = kubernetesLeaseStore(cluster.kc.makeApiClient(CoordinationV1Api), { namespace, name: 'copy-controller' });
  const elector = new LeaderElector({ store, logger }, { identity, leaseDurationSeconds: 3, renewDeadlineMs: 2_000, retryPeriodMs: 500 });
  const manager = new Manager({ logger, metrics, elector }, { informers: [informer], controllers: [controller] });
  const probes = await startProbeServer({ registry, logger, checks: { ready: () => manager.isReady() } }, { port: 0, host: '127.0.0.1' });
  await manager.start();
  return { identity, manager, probes, reconciled, registry };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

describe('the controller runtime end to end', () => {
  const cluster = testCluster();
  const { core } = cluster;
  let ns: Awaited<ReturnType<typeof createNamespace>>;

  beforeAll(async () => {
    ns = await createNamespace(core, 'runtime');
  });

  afterAll(async () => {
    await ns.remove();
  });

  const annotations = async (name: string): Promise<Record<string, string>> =>
    (await core.readNamespacedConfigMap({ namespace: ns.name, name })).metadata?.annotations ?? {};

  it('runs a controller only on the leader, retries failures with backoff, requeues, serves probes and hands over', async () => {
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'plain' }, data: { a: '1' } } });
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'flaky' }, data: { failTimes: '2' } } });
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'ticker' }, data: { recheckMs: '300' } } });
    const replicas = await Promise.all([startReplica(cluster, ns.name, 'replica-a'), startReplica(cluster, ns.name, 'replica-b')]);
    try {
      await eventually(() => expect(replicas.filter((r) => r.manager.isLeader())).toHaveLength(1));
      const leader = replicas.find((r) => r.manager.isLeader())!;
      const follower = replicas.find((r) => r !== leader)!;

      await eventually(async () => {
        expect(await annotations('plain')).toMatchObject({ [COPIED]: '{"a":"1"}', [BY]: leader.identity });
        expect(await annotations('flaky')).toMatchObject({ [COPIED]: '{"failTimes":"2"}', [BY]: leader.identity });
      });
      // Two failures, each retried after a backoff, then success.
      const errors = (await leader.registry.getSingleMetric('attested_inference_operator_reconcile_errors_total')!.get()).values;
      expect(errors).toEqual([{ labels: { controller: 'copy' }, value: 2 }]);
      // The ticker asks to be reconciled again every 300 ms.
      await eventually(() => expect(leader.reconciled.filter((k) => k.endsWith('/ticker')).length).toBeGreaterThanOrEqual(4));
      expect(follower.reconciled).toEqual([]);

      // Probes: both replicas are alive and ready; only the leader says it leads.
      for (const replica of replicas) {
        expect(await get(`${replica.probes.url}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
        expect((await get(`${replica.probes.url}/readyz`)).status).toBe(200);
      }
      const leaderMetrics = (await get(`${leader.probes.url}/metrics`)).body;
      expect(leaderMetrics).toContain('attested_inference_operator_leader 1');
      expect(leaderMetrics).toMatch(/attested_inference_operator_reconcile_total\{controller="copy",result="error"\} 2/);
      expect(leaderMetrics).toMatch(/attested_inference_operator_reconcile_total\{controller="copy",result="requeue"\} \d+/);
      expect(leaderMetrics).toContain('attested_inference_operator_reconcile_duration_seconds_bucket{le="0.005",controller="copy"}');
      expect(leaderMetrics).toContain('attested_inference_operator_workqueue_depth{controller="copy"} 0');
      expect((await get(`${follower.probes.url}/metrics`)).body).toContain('attested_inference_operator_leader 0');
      expect((await get(`${leader.probes.url}/nope`)).status).toBe(404);

      // The leader stops gracefully; the follower takes over and reconciles the next change.
      await leader.manager.stop();
      expect(leader.manager.isLeader()).toBe(false);
      await eventually(() => expect(follower.manager.isLeader()).toBe(true), 5_000);
      await core.patchNamespacedConfigMap({ namespace: ns.name, name: 'plain', body: [{ op: 'replace', path: '/data/a', value: '2' }] });
      await eventually(async () => expect(await annotations('plain')).toMatchObject({ [COPIED]: '{"a":"2"}', [BY]: follower.identity }));
      expect((await get(`${follower.probes.url}/metrics`)).body).toContain('attested_inference_operator_leader 1');
    } finally {
      await Promise.all(replicas.map(async (r) => {
        await r.manager.stop();
        await r.probes.close();
      }));
    }
  });

  it('reports not-ready until the caches have synced', async () => {
    const manager = new Manager(
      { logger: quietLogger(), metrics: createControllerMetrics(new Registry()) },
      { informers: [new ResourceInformer({ kc: cluster.kc, logger: quietLogger() }, { resource: CONFIGMAPS, namespaces: [ns.name] })], controllers: [] },
    );
    const probes = await startProbeServer({ registry: new Registry(), logger: quietLogger(), checks: { ready: () => manager.isReady() } }, { port: 0, host: '127.0.0.1' });
    try {
      expect(await get(`${probes.url}/readyz`)).toEqual({ status: 503, body: 'caches not synced\n' });
      await manager.start();
      expect((await get(`${probes.url}/readyz`)).status).toBe(200);
    } finally {
      await manager.stop();
      await probes.close();
    }
  });

  it('records one Event and then counts repeats on it', async () => {
    const events = cluster.kc.makeApiClient(EventsV1Api);
    const recorder = new EventRecorder(
      { sink: kubernetesEventSink(events), logger: quietLogger() },
      { reportingController: 'inference.attested.dev/operator', reportingInstance: 'test-pod', defaultAction: 'Reconcile' },
    );
    const cm = await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'evented' } } });
    const regarding = { apiVersion: 'v1', kind: 'ConfigMap', metadata: cm.metadata };
    recorder.event(regarding, 'Warning', 'CopyFailed', 'could not copy');
    await recorder.flush();
    const mine = async (): Promise<Awaited<ReturnType<EventsV1Api['listNamespacedEvent']>>['items']> =>
      (await events.listNamespacedEvent({ namespace: ns.name })).items.filter((e) => e.reportingController === 'inference.attested.dev/operator');
    const first = await mine();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      type: 'Warning', reason: 'CopyFailed', note: 'could not copy', action: 'Reconcile', reportingInstance: 'test-pod',
      regarding: { kind: 'ConfigMap', name: 'evented', namespace: ns.name, uid: cm.metadata!.uid },
    });
    expect(first[0]!.series).toBeUndefined();

    recorder.event(regarding, 'Warning', 'CopyFailed', 'could not copy');
    recorder.event(regarding, 'Warning', 'CopyFailed', 'could not copy');
    await recorder.flush();
    const repeated = await mine();
    expect(repeated).toHaveLength(1);
    expect(repeated[0]!.metadata!.name).toBe(first[0]!.metadata!.name);
    expect(repeated[0]!.series?.count).toBe(3);

    recorder.event(regarding, 'Normal', 'Copied', 'copied at last');
    await recorder.flush();
    expect(await mine()).toHaveLength(2);
  });
});
