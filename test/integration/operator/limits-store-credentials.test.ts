import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { createRedisSpendReader, type SpendReader } from '../../../operator/limits/spend-reader.ts';
import { parseLimitsStores } from '../../../operator/limits/store-config.ts';
import { builtInPolicy, type AdminPolicy } from '../../../operator/policy/model.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startRecordingRedis, type RecordingRedis } from '../../harness/recording-redis.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, recordingPort, simulatorEndpointSpec, RECONCILER_OPTIONS } from './support.ts';

const OPERATOR_PASSWORD = 'operator-limits-store-password';

/** allowingStores is the built-in policy (development trust on, for the simulator) with these limits stores allowed. */
function allowingStores(limitsStores: readonly string[]): AdminPolicy {
  const base = builtInPolicy(true);
  return { ...base, default: { ...base.default, limitsStores } };
}

describe('a tenant names its own Redis as the limits store', () => {
  const cluster = testCluster();
  let simulator: EnclaveSimulator;
  let attacker: RecordingRedis;
  let dir: string;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let watcher: AttestationWatcher;
  let spend: SpendReader;
  let reconciler: EndpointReconciler;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    attacker = await startRecordingRedis();
    dir = await mkdtemp(join(tmpdir(), 'aio-limits-credentials-'));
    await writeFile(join(dir, 'password'), `${OPERATOR_PASSWORD}\n`);
    ns = await createNamespace(cluster.core, 'tenant-redis');
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: () => undefined });
    const quiet = { info: (): void => undefined, warn: (): void => undefined };
    // The operator holds a credential for the admin's store only.
    const stores = parseLimitsStores(JSON.stringify({ stores: [{ url: 'redis://redis.limits.svc:6379', username: 'aio-operator', passwordFile: join(dir, 'password') }] }), 'stores.json');
    spend = createRedisSpendReader({ stores, logger: quiet });
    reconciler = new EndpointReconciler({
      port: recordingPort(cluster), watcher, spend, now: () => new Date(),
      // The admin policy lets the URL through (an allow-list entry the operator has no credential for):
      // the operator's own store configuration alone must keep its credential away from it.
      policy: allowingStores([attacker.url]),
      options: RECONCILER_OPTIONS,
    });
    // Everything a namespace tenant may write: an endpoint in its own namespace, naming its own Redis.
    await createEndpoint(cluster, ns.name, 'phishing', simulatorEndpointSpec(simulator, {
      budgets: { namespace: { daily: '1' } },
      limitsStore: { redis: { url: attacker.url, username: 'default' } },
    }));
  });
  afterAll(async () => {
    watcher.stop();
    await spend.close();
    await ns.remove();
    await attacker.close();
    await simulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gets no connection from the operator, let alone its password, and the endpoint says why', async () => {
    await reconciler.reconcile(`${ns.name}/phishing`);
    // Give a connection the operator might have started time to authenticate.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(attacker.credentials().flat().join(' ')).not.toContain(OPERATOR_PASSWORD);
    expect(attacker.connections()).toBe(0);
    const endpoint = await readEndpoint(cluster, ns.name, 'phishing');
    expect(condition(endpoint, 'Degraded')).toMatchObject({ status: 'True', reason: 'LimitsStoreNotAllowed' });
    expect(condition(endpoint, 'Degraded')?.message).toContain('spec.limitsStore.redis.url');
    expect(condition(endpoint, 'Degraded')?.message).toContain(attacker.url);
  });
});
