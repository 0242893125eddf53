import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { createRedisSpendReader, type SpendReader } from '../../../operator/limits/spend-reader.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { defaultKeyPrefix } from '../../../proxy/config/schema-limits.ts';
import { createRateLimiter } from '../../../proxy/limits/limiter.ts';
import { createRedisStore } from '../../../proxy/limits/redis-store.ts';
import type { RateLimiter } from '../../../proxy/limits/types.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { startRedisServer, type RedisServer } from '../../harness/redis-server.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, recordingPort, simulatorEndpointSpec, type RecordingPort } from './support.ts';

describe('namespace budgets in the endpoint status, read from the limits store', () => {
  const cluster = testCluster();
  let simulator: EnclaveSimulator;
  let redis: RedisServer;
  let proxyClient: Redis;
  let dir: string;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let port: RecordingPort;
  let watcher: AttestationWatcher;
  let spend: SpendReader;
  let reconciler: EndpointReconciler;
  let limiter: RateLimiter;
  const key = (): string => `${ns.name}/budgeted`;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    redis = await startRedisServer({ password: 'operator-reads-this' });
    dir = await mkdtemp(join(tmpdir(), 'aio-budget-status-'));
    await writeFile(join(dir, 'password'), 'operator-reads-this\n');
    ns = await createNamespace(cluster.core, 'budgets');
    port = recordingPort(cluster);
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: () => undefined });
    const quiet = { info: (): void => undefined, warn: (): void => undefined };
    spend = createRedisSpendReader({ passwordFile: join(dir, 'password'), logger: quiet });
    reconciler = new EndpointReconciler({
      port, watcher, spend, now: () => new Date(),
      options: { image: { image: 'registry.local/attested-inference-proxy:test', pullPolicy: 'Never' }, tokenReviewClusterRole: 'attested-inference-tokenreview', apiServerPorts: [443] },
    });
    // The proxies' side: the same limiter, keys and store a proxy of this namespace uses.
    proxyClient = new Redis(redis.url, { password: 'operator-reads-this' });
    proxyClient.on('error', () => undefined);
    limiter = createRateLimiter({ budgets: { namespace: { dailyMicros: 1000 } } }, createRedisStore(proxyClient, { keyPrefix: defaultKeyPrefix(ns.name) }), { now: Date.now });
    await createEndpoint(cluster, ns.name, 'budgeted', simulatorEndpointSpec(simulator, {
      budgets: { namespace: { daily: '0.001' } },
      limitsStore: { redis: { url: redis.url, passwordSecretRef: { name: 'limits-redis' } } },
    }));
  });
  afterAll(async () => {
    watcher.stop();
    await spend.close();
    proxyClient.disconnect();
    await ns.remove();
    await redis.close();
    await simulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  const budgetEvents = (): string[] => port.events.filter((e) => e.reason.startsWith('Budget')).map((e) => e.reason);

  it('writes the spend and the next reset, and records an Event at 80 % and at 100 %, once each', async () => {
    await limiter.charge('key:a', { tokens: 1, costMicros: 500 });
    const outcome = await reconciler.reconcile(key());
    let endpoint = await readEndpoint(cluster, ns.name, 'budgeted');
    expect(endpoint.status?.budgets).toEqual([{ window: 'day', budget: '0.001000', spent: '0.000500', percentUsed: 50, resetsAt: expect.stringMatching(/T00:00:00Z$/) as unknown }]);
    expect(outcome.requeueAfterMs).toBeGreaterThan(0); // looked at again to follow the spend
    expect(budgetEvents()).toEqual([]);

    await limiter.charge('key:b', { tokens: 1, costMicros: 350 });
    await reconciler.reconcile(key());
    expect(budgetEvents()).toEqual(['BudgetAlmostSpent']);

    await limiter.charge('key:a', { tokens: 1, costMicros: 200 });
    await reconciler.reconcile(key());
    await reconciler.reconcile(key());
    endpoint = await readEndpoint(cluster, ns.name, 'budgeted');
    expect(endpoint.status?.budgets?.[0]).toMatchObject({ spent: '0.001050', percentUsed: 105 });
    expect(budgetEvents()).toEqual(['BudgetAlmostSpent', 'BudgetExhausted']);
    expect(port.events.find((e) => e.reason === 'BudgetExhausted')?.message).toContain('insufficient_quota');
  });

  it('says so in Degraded while the store is unreachable, keeping the last spend, and recovers', async () => {
    await redis.stop();
    await reconciler.reconcile(key());
    let endpoint = await readEndpoint(cluster, ns.name, 'budgeted');
    expect(condition(endpoint, 'Degraded')).toMatchObject({ status: 'True', reason: 'LimitsStoreUnreachable' });
    expect(condition(endpoint, 'Degraded')?.message).toContain(redis.url);
    expect(endpoint.status?.budgets?.[0]?.spent).toBe('0.001050');
    expect(port.events.map((e) => e.reason)).toContain('LimitsStoreUnreachable');

    await redis.start(); // empty: nothing saved
    await waitFor('the operator to read the store again', async () => {
      await reconciler.reconcile(key());
      endpoint = await readEndpoint(cluster, ns.name, 'budgeted');
      return condition(endpoint, 'Degraded')?.reason !== 'LimitsStoreUnreachable';
    }, { timeoutMs: 15_000, intervalMs: 250 });
    expect(endpoint.status?.budgets?.[0]).toMatchObject({ spent: '0.000000', percentUsed: 0 });
  });
});
