import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { BUDGET_REPORT_CADENCE_MS } from '../../../operator/limits/budget-status.ts';
import { createRedisSpendReader, type SpendReader } from '../../../operator/limits/spend-reader.ts';
import { parseLimitsStores } from '../../../operator/limits/store-config.ts';
import { builtInPolicy } from '../../../operator/policy/model.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { defaultKeyPrefix } from '../../../proxy/config/schema-limits.ts';
import { createRateLimiter } from '../../../proxy/limits/limiter.ts';
import { createRedisStore } from '../../../proxy/limits/redis-store.ts';
import type { RateLimiter } from '../../../proxy/limits/types.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startRedisServer, type RedisServer } from '../../harness/redis-server.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { createEndpoint, installCrd, readEndpoint, recordingPort, RECONCILER_OPTIONS, simulatorEndpointSpec, type RecordingPort } from './support.ts';

const quiet = { info: (): void => undefined, warn: (): void => undefined };
const ENDPOINTS = ['first', 'second', 'third'];

/**
 * Budgets status is written on a meaningful change only: every endpoint of a namespace declares
 * the namespace's budget, and rewriting each of them every minute while the spend creeps up is a
 * steady write load on the API server for nothing a reader needs.
 */
describe('budget status writes', () => {
  const cluster = testCluster();
  let simulator: EnclaveSimulator;
  let redis: RedisServer;
  let proxyClient: Redis;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let port: RecordingPort;
  let watcher: AttestationWatcher;
  let spend: SpendReader;
  let limiter: RateLimiter;
  let clock = Date.now();
  let reconciler: EndpointReconciler;

  const reconcileAll = async (): Promise<void> => {
    for (const name of ENDPOINTS) await reconciler.reconcile(`${ns.name}/${name}`);
  };

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    redis = await startRedisServer();
    ns = await createNamespace(cluster.core, 'budget-writes');
    port = recordingPort(cluster);
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: () => undefined });
    spend = createRedisSpendReader({ stores: parseLimitsStores(JSON.stringify({ stores: [{ url: redis.url }] }), 'stores.json'), logger: quiet });
    const base = builtInPolicy(true);
    reconciler = new EndpointReconciler({ port, watcher, spend, now: () => new Date(clock), policy: { ...base, default: { ...base.default, limitsStores: [redis.url] } }, options: RECONCILER_OPTIONS });
    proxyClient = new Redis(redis.url);
    proxyClient.on('error', () => undefined);
    // A budget of 1.000000: one percent is 10,000 micro-units.
    limiter = createRateLimiter({ budgets: { namespace: { dailyMicros: 1_000_000 } } }, createRedisStore(proxyClient, { keyPrefix: defaultKeyPrefix(ns.name) }), { now: Date.now });
    for (const name of ENDPOINTS) {
      await createEndpoint(cluster, ns.name, name, simulatorEndpointSpec(simulator, { replicas: 1, attestation: { recheckInterval: '1h' }, budgets: { namespace: { daily: '1' } }, limitsStore: { redis: { url: redis.url, passwordSecretRef: { name: 'limits-redis' } } } }));
    }
    // Settle: children, rollout and the first budgets written.
    for (let i = 0; i < 40; i += 1) {
      await reconcileAll().catch(() => undefined);
      const all = await Promise.all(ENDPOINTS.map((n) => readEndpoint(cluster, ns.name, n)));
      if (all.every((e) => e.status?.budgets?.length === 1 && e.status.conditions?.find((c) => c.type === 'Available')?.status === 'True')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  });
  afterAll(async () => {
    watcher.stop();
    await spend.close();
    proxyClient.disconnect();
    await ns.remove();
    await redis.close();
    await simulator.close();
  });

  it('writes nothing while the spend moves by less than a percent of the budget, minute after minute', async () => {
    await reconcileAll();
    const before = port.writes.status;
    for (let minute = 0; minute < 5; minute += 1) {
      await limiter.charge(`key:${String(minute)}`, { tokens: 1, costMicros: 1000 });
      clock += 60_000;
      await reconcileAll();
    }
    const after = await Promise.all(ENDPOINTS.map((n) => readEndpoint(cluster, ns.name, n)));
    expect(port.writes.status - before, JSON.stringify(after.map((e) => e.status))).toBe(0);
  });

  it('writes once per endpoint when the spend crosses a whole percent, and reports it exactly', async () => {
    const before = port.writes.status;
    await limiter.charge('key:step', { tokens: 1, costMicros: 10_000 });
    clock += 60_000;
    await reconcileAll();
    await reconcileAll();
    expect(port.writes.status - before).toBe(ENDPOINTS.length);
    const endpoint = await readEndpoint(cluster, ns.name, 'first');
    expect(endpoint.status?.budgets?.[0]).toMatchObject({ spent: '0.015000', percentUsed: 1 });
  });

  it('writes a smaller change at the slow cadence', async () => {
    await limiter.charge('key:late', { tokens: 1, costMicros: 500 });
    clock += 60_000;
    await reconcileAll();
    const before = port.writes.status;
    clock += BUDGET_REPORT_CADENCE_MS;
    await reconcileAll();
    expect(port.writes.status - before).toBe(ENDPOINTS.length);
    expect((await readEndpoint(cluster, ns.name, 'second')).status?.budgets?.[0]).toMatchObject({ spent: '0.015500' });
  });
});
