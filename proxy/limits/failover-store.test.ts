import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.ts';
import { createFailoverStore, type FailurePolicy } from './failover-store.ts';
import { createMemoryStore } from './memory-store.ts';
import { specFor } from './token-bucket.ts';
import type { BucketStore } from './types.ts';

/** switchable is a real memory store that can be made to fail like an unreachable Redis. */
function switchable(): { store: BucketStore; down: { value: boolean } } {
  const inner = createMemoryStore();
  const down = { value: false };
  const guard = <T>(run: () => Promise<T>): Promise<T> => (down.value ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')) : run());
  return {
    down,
    store: { take: (r, now) => guard(() => inner.take(r, now)), charge: (c, now) => guard(() => inner.charge(c, now)) },
  };
}

function setup(policy: FailurePolicy): { store: BucketStore; down: { value: boolean }; results: string[] } {
  const shared = switchable();
  const results: string[] = [];
  const store = createFailoverStore({
    shared: shared.store,
    local: createMemoryStore(),
    policy,
    observer: { result: (operation, ok) => void results.push(`${operation}:${ok ? 'ok' : 'error'}`) },
  });
  return { store, down: shared.down, results };
}

const one = { key: 'a', spec: specFor(60, 2), amount: 1, minimum: 1 };

describe('failover store', () => {
  it('fails open to the per-replica store, and goes back to the shared one when it answers again', async () => {
    const { store, down, results } = setup('FailOpen');
    expect((await store.take([one], 0))[0]?.remaining).toBe(1); // shared
    down.value = true;
    expect((await store.take([one], 0))[0]?.remaining).toBe(1); // local: a fresh bucket of its own
    expect((await store.take([one], 0))[0]?.remaining).toBe(0);
    await store.charge([{ key: 'a', spec: specFor(60, 2), amount: 5 }], 0); // usage during the outage holds this replica back
    expect((await store.take([one], 0))[0]?.allowed).toBe(false);
    down.value = false;
    expect((await store.take([one], 0))[0]?.remaining).toBe(0); // shared again: its own state, untouched by the outage
    expect(results).toEqual(['take:ok', 'take:error', 'take:error', 'charge:error', 'take:error', 'take:ok']);
  });

  it('fails closed with 503 limits_unavailable, and recovers likewise', async () => {
    const { store, down } = setup('FailClosed');
    down.value = true;
    const error = await store.take([one], 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as ProxyError).code).toBe('limits_unavailable');
    expect((error as ProxyError).status).toBe(503);
    await expect(store.charge([{ key: 'a', spec: specFor(60, 2), amount: 5 }], 0)).resolves.toHaveLength(1);
    down.value = false;
    expect((await store.take([one], 0))[0]?.allowed).toBe(true);
  });
});
