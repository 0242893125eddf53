import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './memory-store.ts';
import { specFor } from './token-bucket.ts';

const spec = specFor(60, 2); // one per second, burst of two

describe('memory bucket store', () => {
  it('keeps a bucket only while it is below capacity', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 1_000_000 });
    expect((await store.take('a', spec, 0, 1, 0)).remaining).toBe(2); // a check on a full bucket stores nothing
    expect(store.size()).toBe(0);
    await store.take('a', spec, 1, 1, 0);
    expect(store.size()).toBe(1);
    await store.take('a', spec, 1, 1, 1000); // refilled to full, then one taken again
    expect(store.size()).toBe(1);
    await store.take('a', spec, 0, 1, 2000); // full again: dropped on touch
    expect(store.size()).toBe(0);
  });

  it('drops idle buckets once they are full again, on the sweep interval', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 10_000 });
    await store.take('a', spec, 2, 1, 0); // full again at 2 s
    await store.charge('b', spec, 30, 0); // in debt: full again at 32 s
    expect(store.size()).toBe(2);
    await store.take('c', spec, 1, 1, 5_000); // no sweep yet
    expect(store.size()).toBe(3);
    await store.take('c', spec, 1, 1, 10_000); // sweep: a and c are full again, c is taken again
    expect(store.size()).toBe(2);
    store.sweep(40_000);
    expect(store.size()).toBe(0);
    expect((await store.take('b', spec, 0, 1, 40_000)).remaining).toBe(2); // forgotten equals full
  });

  it('stays within maxBuckets, forgetting the least recently used', async () => {
    const store = createMemoryStore({ maxBuckets: 2, sweepIntervalMs: 1_000_000 });
    await store.charge('a', spec, 10, 0);
    await store.charge('b', spec, 10, 0);
    await store.take('a', spec, 0, 1, 1); // touch a
    await store.charge('c', spec, 10, 2);
    expect(store.size()).toBe(2);
    expect((await store.take('b', spec, 0, 0, 3)).remaining).toBe(2); // b was forgotten
    expect((await store.take('a', spec, 0, 0, 3)).remaining).toBeLessThan(0);
  });
});
