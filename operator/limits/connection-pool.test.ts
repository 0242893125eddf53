import { describe, expect, it } from 'vitest';
import { ConnectionPool } from './connection-pool.ts';

/** world is a pool over fake connections that record being opened and closed, on a clock the test moves. */
function world(maxOpen = 2, idleMs = 1000): { pool: ConnectionPool<{ close(): Promise<void> }>; opened: string[]; closed: string[]; tick(ms: number): void; use(user: string, store: string): Promise<unknown> } {
  let now = 0;
  const opened: string[] = [];
  const closed: string[] = [];
  const pool = new ConnectionPool<{ close(): Promise<void> }>({ maxOpen, idleMs, now: () => now });
  return {
    pool, opened, closed,
    tick: (ms) => { now += ms; },
    use: (user, store) => pool.acquire(user, store, () => {
      opened.push(store);
      return Promise.resolve({ close: () => { closed.push(store); return Promise.resolve(); } });
    }),
  };
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the limits store connection pool', () => {
  it('shares one connection per store between endpoints', async () => {
    const w = world();
    const [a, b] = await Promise.all([w.use('ns/a', 'redis://s1'), w.use('ns/b', 'redis://s1')]);
    expect(a).toBe(b);
    expect(w.opened).toEqual(['redis://s1']);
  });

  it('keeps at most maxOpen open, closing the least recently used', async () => {
    const w = world(2);
    await w.use('ns/a', 'redis://s1');
    w.tick(1);
    await w.use('ns/b', 'redis://s2');
    w.tick(1);
    await w.use('ns/a2', 'redis://s1'); // s1 is now the most recently used
    w.tick(1);
    await w.use('ns/c', 'redis://s3');
    await settled();
    expect(w.closed).toEqual(['redis://s2']);
    expect(w.pool.openStores()).toEqual(['redis://s1', 'redis://s3']);
    await w.use('ns/b', 'redis://s2'); // opened again when needed
    await settled();
    expect(w.opened).toEqual(['redis://s1', 'redis://s2', 'redis://s3', 'redis://s2']);
    expect(w.closed).toEqual(['redis://s2', 'redis://s1']);
  });

  it('closes a connection unused for the idle period, at the next use of the pool or prune', async () => {
    const w = world(4, 1000);
    await w.use('ns/a', 'redis://s1');
    w.tick(500);
    await w.use('ns/b', 'redis://s2');
    w.tick(499);
    w.pool.prune();
    await settled();
    expect(w.closed).toEqual([]);
    w.tick(1); // s1 unused for 1000 ms
    await w.use('ns/b', 'redis://s2');
    await settled();
    expect(w.closed).toEqual(['redis://s1']);
    w.tick(1000);
    w.pool.prune();
    await settled();
    expect(w.closed).toEqual(['redis://s1', 'redis://s2']);
    expect(w.pool.openStores()).toEqual([]);
  });

  it('closes a connection as soon as no endpoint names its store', async () => {
    const w = world(4, 60_000);
    await w.use('ns/a', 'redis://s1');
    await w.use('ns/b', 'redis://s1');
    w.pool.forget('ns/a');
    await settled();
    expect(w.closed).toEqual([]); // ns/b still reads it
    await w.use('ns/b', 'redis://s2'); // ns/b now names another store
    await settled();
    expect(w.closed).toEqual(['redis://s1']);
    w.pool.forget('ns/b');
    w.pool.forget('ns/unknown');
    await settled();
    expect(w.closed).toEqual(['redis://s1', 'redis://s2']);
  });

  it('does not keep a connection that failed to open, and closes all on close', async () => {
    let now = 0;
    const pool = new ConnectionPool<{ close(): Promise<void> }>({ maxOpen: 2, idleMs: 1000, now: () => now });
    await expect(pool.acquire('ns/a', 'redis://down', () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    await settled();
    expect(pool.openStores()).toEqual([]);
    let closes = 0;
    await pool.acquire('ns/a', 'redis://up', () => Promise.resolve({ close: () => { closes++; return Promise.resolve(); } }));
    now += 1;
    await pool.close();
    expect(closes).toBe(1);
    expect(pool.openStores()).toEqual([]);
  });
});
