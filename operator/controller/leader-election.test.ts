import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from './fake-clock.ts';
import { LeaderElector } from './leader-election.ts';
import type { LeaseRecord } from './lease-logic.ts';
import type { LeaseStore, StoredLease } from './lease-store.ts';

/** MemoryLease is one Lease with the API server's optimistic concurrency: a stale resourceVersion is a 409. */
class MemoryLease {
  stored: StoredLease | undefined;
  #version = 0;

  store(partitioned: () => boolean = () => false): LeaseStore {
    const reachable = (): void => {
      if (partitioned()) throw new Error('connect ETIMEDOUT');
    };
    return {
      description: 'memory/lease',
      get: () => Promise.resolve().then(() => { reachable(); return this.stored; }),
      create: (record) => Promise.resolve().then(() => {
        reachable();
        if (this.stored !== undefined) throw Object.assign(new Error('exists'), { code: 409 });
        return this.#write(record);
      }),
      update: (record, resourceVersion) => Promise.resolve().then(() => {
        reachable();
        if (this.stored?.resourceVersion !== resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
        return this.#write(record);
      }),
    };
  }

  #write(record: LeaseRecord): StoredLease {
    this.stored = { record, resourceVersion: String(++this.#version) };
    return this.stored;
  }
}

interface Candidate {
  readonly elector: LeaderElector;
  readonly log: string[];
  partitioned: boolean;
}

function candidate(lease: MemoryLease, clock: FakeClock, identity: string): Candidate {
  const c: Candidate = { log: [], partitioned: false, elector: undefined as unknown as LeaderElector };
  const elector = new LeaderElector(
    { store: lease.store(() => c.partitioned), logger: pino({ level: 'silent' }), clock, random: () => 0 },
    { identity, leaseDurationSeconds: 3, renewDeadlineMs: 2_000, retryPeriodMs: 500 },
  );
  elector.start({
    onStartedLeading: (signal) => {
      c.log.push(`start@${clock.now()}`);
      signal.addEventListener('abort', () => c.log.push(`abort@${clock.now()}`));
    },
    onStoppedLeading: () => void c.log.push(`stop@${clock.now()}`),
  });
  return Object.assign(c, { elector });
}

describe('LeaderElector on a fake clock', () => {
  it('elects exactly one leader and keeps it while it renews', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    const b = candidate(lease, clock, 'b');
    await clock.advance(10_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.leader()).toBe('a');
    expect(lease.stored?.record).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0 });
    expect(a.log).toEqual(['start@0']);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('hands over within a retry period when the leader stops gracefully, after it stopped leading', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    await settle();
    const b = candidate(lease, clock, 'b');
    await clock.advance(5_000);
    await a.elector.stop();
    expect(a.log).toEqual(['start@0', 'abort@5000', 'stop@5000']);
    expect(lease.stored?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await clock.advance(500);
    expect(b.elector.isLeader()).toBe(true);
    expect(b.log).toEqual(['start@5500']);
    expect(lease.stored?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.stop();
  });

  it('a partitioned leader steps down at its renew deadline, before the other takes over at the lease duration', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    await settle();
    const b = candidate(lease, clock, 'b');
    await clock.advance(4_000); // a renewed last at 4000, b saw that renewal at 4000
    a.partitioned = true;
    await clock.advance(1_999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false); // 2 s renew deadline after its last renewal
    expect(a.log).toEqual(['start@0', 'abort@6000', 'stop@6000']);
    await clock.advance(999);
    expect(b.elector.isLeader()).toBe(false); // 3 s lease after b last saw it change: 7000
    await clock.advance(500);
    expect(b.elector.isLeader()).toBe(true);
    expect(b.log).toEqual(['start@7000']);
    // When the partition heals, a is a candidate again and stays a follower.
    a.partitioned = false;
    await clock.advance(5_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.leader()).toBe('b');
    await a.elector.stop();
    await b.elector.stop();
  });

  it('recreates a deleted lease and steps down at once when another holder overwrote it', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    const a = candidate(lease, clock, 'a');
    await clock.advance(1_000);
    expect(a.elector.isLeader()).toBe(true);
    lease.stored = undefined; // someone deleted it: the next renewal creates it again
    await clock.advance(500);
    expect(a.elector.isLeader()).toBe(true);
    expect(lease.stored).toBeDefined();
    lease.stored = { record: { ...lease.stored!.record, holderIdentity: 'intruder' }, resourceVersion: '99' };
    await clock.advance(500);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.leader()).toBe('intruder');
    await a.elector.stop();
  });

  it('fences writes the moment the lease is older than the renew deadline, before the elector itself notices (a frozen process)', async () => {
    const clock = new FakeClock(0);
    const lease = new MemoryLease();
    // A frozen process (SIGSTOP, a long pause) finds time jumped with none of its timers run: `frozenFor` moves its now() alone.
    let frozenFor = 0;
    const jumpy = { now: () => clock.now() + frozenFor, setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms), clearTimeout: (h: object | number) => clock.clearTimeout(h) };
    const a = new LeaderElector({ store: lease.store(), logger: pino({ level: 'silent' }), clock: jumpy, random: () => 0 }, { identity: 'a', leaseDurationSeconds: 3, renewDeadlineMs: 2_000, retryPeriodMs: 500 });
    a.start({ onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    await clock.advance(1_000);
    expect(a.isLeader()).toBe(true);
    expect(a.holdsLease()).toBe(true);
    // Last renewal at 1000 (sent then): the fence closes 2 s later, although no timer has fired to tell the elector.
    frozenFor = 1_999;
    expect(a.holdsLease()).toBe(true);
    frozenFor = 2_000;
    expect(a.isLeader()).toBe(true);
    expect(a.holdsLease()).toBe(false);
    frozenFor = 0;
    await a.stop();
    expect(a.holdsLease()).toBe(false);
  });
});
