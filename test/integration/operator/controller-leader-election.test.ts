import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderElector } from '../../../operator/controller/leader-election.ts';
import { kubernetesLeaseStore, type LeaseStore } from '../../../operator/controller/lease-store.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { eventually, quietLogger } from './controller-helpers.ts';

type Namespace = Awaited<ReturnType<typeof createNamespace>>;

/** Replica is one elector plus what its callbacks saw, with a switch that cuts it off from the API server. */
interface Replica {
  readonly elector: LeaderElector;
  readonly started: number[];
  readonly stopped: number[];
  partitioned: boolean;
}

// Short timings so handovers take seconds: 3 s lease, give up renewing after 2 s, retry every 0.5 s.
const TIMINGS = { leaseDurationSeconds: 3, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

function partitionable(store: LeaseStore, replica: () => Replica): LeaseStore {
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    // A partitioned replica's requests hang, as on a dropped network path, until the deadline gives up on them.
    if (replica().partitioned) await new Promise((resolve) => setTimeout(resolve, 5_000));
    if (replica().partitioned) throw new Error('connect ETIMEDOUT');
    return call();
  };
  return {
    description: store.description,
    get: () => guard(() => store.get()),
    create: (record) => guard(() => store.create(record)),
    update: (record, version) => guard(() => store.update(record, version)),
  };
}

function replica(api: CoordinationV1Api, namespace: string, identity: string): Replica {
  const r: Replica = { elector: undefined as unknown as LeaderElector, started: [], stopped: [], partitioned: false };
  const store = partitionable(kubernetesLeaseStore(api, { namespace, name: 'operator-lock' }), () => r);
  const elector = new LeaderElector({ store, logger: quietLogger() }, { identity, ...TIMINGS });
  elector.start({
    onStartedLeading: () => void r.started.push(Date.now()),
    onStoppedLeading: () => void r.stopped.push(Date.now()),
  });
  return Object.assign(r, { elector });
}

describe('leader election on a real Lease', () => {
  const cluster = testCluster();
  const api = cluster.kc.makeApiClient(CoordinationV1Api);
  let ns: Namespace;

  beforeAll(async () => {
    ns = await createNamespace(cluster.core, 'election');
  });

  afterAll(async () => {
    await ns.remove();
  });

  it('elects exactly one leader and hands over within seconds when it stops gracefully', async () => {
    const a = replica(api, ns.name, 'replica-a');
    const b = replica(api, ns.name, 'replica-b');
    await eventually(() => expect([a, b].filter((r) => r.elector.isLeader())).toHaveLength(1));
    // Several retry periods later there is still exactly one, and nobody flapped.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    expect(follower.elector.isLeader()).toBe(false);
    expect(leader.started).toHaveLength(1);
    expect(follower.started).toHaveLength(0);
    expect(follower.elector.leader()).toBe(leader.elector.identity);

    const lease = await api.readNamespacedLease({ namespace: ns.name, name: 'operator-lock' });
    expect(lease.spec?.holderIdentity).toBe(leader.elector.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(3);

    const stoppedAt = Date.now();
    await leader.elector.stop();
    expect(leader.stopped).toHaveLength(1);
    const released = await api.readNamespacedLease({ namespace: ns.name, name: 'operator-lock' });
    expect(released.spec?.holderIdentity ?? '').toBe('');
    await eventually(() => expect(follower.elector.isLeader()).toBe(true), 5_000);
    // A released lease is taken at the next (jittered) retry, well before the 3 s lease would lapse.
    expect(follower.started[0]! - stoppedAt).toBeLessThan(2_500);
    const taken = await api.readNamespacedLease({ namespace: ns.name, name: 'operator-lock' });
    expect(taken.spec?.holderIdentity).toBe(follower.elector.identity);
    expect(taken.spec?.leaseTransitions).toBe(1);
    await follower.elector.stop();
    await api.deleteNamespacedLease({ namespace: ns.name, name: 'operator-lock' });
  });

  it('a partitioned leader steps down before the other takes over after the lease duration', async () => {
    const a = replica(api, ns.name, 'replica-a');
    await eventually(() => expect(a.elector.isLeader()).toBe(true));
    const b = replica(api, ns.name, 'replica-b');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(b.elector.isLeader()).toBe(false);

    const partitionedAt = Date.now();
    a.partitioned = true; // a can neither renew nor release: the lease must lapse on its own
    await eventually(() => expect(b.elector.isLeader()).toBe(true), 10_000);
    expect(a.elector.isLeader()).toBe(false);
    // a gave up at its renew deadline; b only took over once the lease had lapsed after that.
    expect(a.stopped).toHaveLength(1);
    expect(a.stopped[0]!).toBeLessThan(b.started[0]!);
    expect(a.stopped[0]! - partitionedAt).toBeLessThan(2_600);
    expect(b.started[0]! - partitionedAt).toBeGreaterThanOrEqual(2_500);
    expect(b.started[0]! - partitionedAt).toBeLessThan(6_000);

    // Healed, a sees b as the leader (once its hung request gives up) and stays a follower.
    a.partitioned = false;
    await eventually(() => expect(a.elector.leader()).toBe('replica-b'), 8_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(b.elector.isLeader()).toBe(true);
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });
});
