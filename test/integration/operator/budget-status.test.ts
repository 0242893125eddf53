import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { createRedisSpendReader, type SpendReader } from '../../../operator/limits/spend-reader.ts';
import { parseLimitsStores } from '../../../operator/limits/store-config.ts';
import { builtInPolicy, type AdminPolicy } from '../../../operator/policy/model.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { createCertificateAuthority, issueCertificate } from '../../../operator/tls/pki.ts';
import { defaultKeyPrefix } from '../../../proxy/config/schema-limits.ts';
import { createRateLimiter } from '../../../proxy/limits/limiter.ts';
import { createRedisStore } from '../../../proxy/limits/redis-store.ts';
import type { RateLimiter } from '../../../proxy/limits/types.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { startRedisServer, type RedisServer } from '../../harness/redis-server.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, recordingPort, simulatorEndpointSpec, type RecordingPort, RECONCILER_OPTIONS } from './support.ts';

/** PROXIES_PASSWORD is the default user's: what the proxies (tenants) use, with every right. */
const PROXIES_PASSWORD = 'proxies-write-buckets';
/** OPERATOR_PASSWORD is the operator's own read-only user's (docs/adr/0009-limits-store-credentials.md). */
const OPERATOR_PASSWORD = 'operator-reads-this';
/** OPERATOR_ACL is the ACL the docs recommend for the operator's user, as redis-server arguments. */
const OPERATOR_ACL = ['--user', 'aio-operator', 'on', `>${OPERATOR_PASSWORD}`, 'resetkeys', '%R~aio:*:namespace:spend:*', 'resetchannels', '-@all', '+hget'];
const SERVER_NAME = 'redis.limits.test';

const quiet = { info: (): void => undefined, warn: (): void => undefined };

/** tlsFiles writes a CA, a Redis serving certificate it signed (for SERVER_NAME and 127.0.0.1), and an unrelated CA. */
async function tlsFiles(dir: string): Promise<{ certFile: string; keyFile: string; caFile: string; otherCaFile: string }> {
  const ca = await createCertificateAuthority('limits-store-test-ca');
  const serving = await issueCertificate(ca, { commonName: SERVER_NAME, dnsNames: [SERVER_NAME], ipAddresses: ['127.0.0.1'], usage: 'server' });
  const other = await createCertificateAuthority('someone-else-ca');
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'ca.crt'), otherCaFile: join(dir, 'other-ca.crt') };
  await Promise.all([writeFile(files.certFile, serving.certPem), writeFile(files.keyFile, serving.keyPem), writeFile(files.caFile, ca.certPem), writeFile(files.otherCaFile, other.certPem)]);
  return files;
}

/** allowingStores is the built-in policy (development trust on, for the simulator) with these limits stores allowed. */
function allowingStores(limitsStores: readonly string[]): AdminPolicy {
  const base = builtInPolicy(true);
  return { ...base, default: { ...base.default, limitsStores } };
}

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
  let tls: Awaited<ReturnType<typeof tlsFiles>>;
  let tlsUrl: string;
  const key = (): string => `${ns.name}/budgeted`;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    dir = await mkdtemp(join(tmpdir(), 'aio-budget-status-'));
    tls = await tlsFiles(dir);
    redis = await startRedisServer({ password: PROXIES_PASSWORD, args: OPERATOR_ACL, tls });
    tlsUrl = redis.tlsUrl ?? '';
    await writeFile(join(dir, 'password'), `${OPERATOR_PASSWORD}\n`);
    ns = await createNamespace(cluster.core, 'budgets');
    port = recordingPort(cluster);
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: () => undefined });
    // The operator's own configuration: its read-only user for both of the admin's URLs, the CA for rediss://.
    spend = createRedisSpendReader({ stores: parseLimitsStores(JSON.stringify({ stores: [
      { url: redis.url, username: 'aio-operator', passwordFile: join(dir, 'password') },
      { url: tlsUrl, username: 'aio-operator', passwordFile: join(dir, 'password'), caFile: tls.caFile, serverName: SERVER_NAME },
    ] }), 'stores.json'), logger: quiet });
    reconciler = new EndpointReconciler({
      port, watcher, spend, now: () => new Date(),
      policy: allowingStores([redis.url, tlsUrl]),
      options: RECONCILER_OPTIONS,
    });
    // The proxies' side: the same limiter, keys and store a proxy of this namespace uses.
    proxyClient = new Redis(redis.url, { password: PROXIES_PASSWORD });
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

  const budgetEvents = (): string[] => port.events.filter((e) => e.endpoint === 'budgeted' && e.reason.startsWith('Budget')).map((e) => e.reason);

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

  it('gives the operator\'s user the reads status needs and nothing else', async () => {
    const operator = new Redis(redis.url, { username: 'aio-operator', password: OPERATOR_PASSWORD, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
    operator.on('error', () => undefined);
    try {
      await operator.connect();
      const spendKey = `${defaultKeyPrefix(ns.name)}namespace:spend:day:2026-01-01`;
      expect(await operator.hget(spendKey, 'l')).toBeNull();
      await expect(operator.hset(spendKey, 'l', '0')).rejects.toThrow('NOPERM');
      await expect(operator.del(spendKey)).rejects.toThrow('NOPERM');
      await expect(operator.hget(`${defaultKeyPrefix(ns.name)}namespace:requests`, 'l')).rejects.toThrow('NOPERM');
    } finally {
      operator.disconnect();
    }
  });

  it('reads a rediss:// store, verifying its certificate against the configured CA and server name', async () => {
    await createEndpoint(cluster, ns.name, 'budgeted-tls', simulatorEndpointSpec(simulator, {
      budgets: { namespace: { daily: '0.001' } },
      limitsStore: { redis: { url: tlsUrl, passwordSecretRef: { name: 'limits-redis' } } },
    }));
    await limiter.charge('key:a', { tokens: 1, costMicros: 120 });
    await reconciler.reconcile(`${ns.name}/budgeted-tls`);
    const endpoint = await readEndpoint(cluster, ns.name, 'budgeted-tls');
    expect(condition(endpoint, 'Degraded')?.reason).toBe('Healthy');
    expect(endpoint.status?.budgets?.[0]).toMatchObject({ spent: '0.000120', percentUsed: 12 });
  });

  it.each([
    ['whose certificate the configured CA did not sign', () => tls.otherCaFile, SERVER_NAME, /certificate/],
    ['whose certificate does not name the configured server name', () => tls.caFile, 'redis.elsewhere.test', /altnames/],
  ])('does not read a rediss:// store %s', async (_title, caFile, serverName, says) => {
    const wrongCa = createRedisSpendReader({ stores: parseLimitsStores(JSON.stringify({ stores: [
      { url: tlsUrl, username: 'aio-operator', passwordFile: join(dir, 'password'), caFile: caFile(), serverName },
    ] }), 'stores.json'), logger: quiet });
    const other = new EndpointReconciler({
      port, watcher, spend: wrongCa, now: () => new Date(),
      policy: allowingStores([redis.url, tlsUrl]),
      options: RECONCILER_OPTIONS,
    });
    try {
      await other.reconcile(`${ns.name}/budgeted-tls`);
      const endpoint = await readEndpoint(cluster, ns.name, 'budgeted-tls');
      expect(condition(endpoint, 'Degraded')).toMatchObject({ status: 'True', reason: 'LimitsStoreUnreachable' });
      expect(condition(endpoint, 'Degraded')?.message).toMatch(says);
    } finally {
      await wrongCa.close();
    }
  });
});
