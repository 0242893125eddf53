import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from './fake-clock.ts';
import { WorkQueue } from './workqueue.ts';

/** Gate is a promise a test resolves by hand, to hold a handler in flight. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function recorder(): { seen: string[]; handler: (key: string) => Promise<void> } {
  const seen: string[] = [];
  return { seen, handler: (key) => { seen.push(key); return Promise.resolve(); } };
}

describe('WorkQueue', () => {
  it('keeps one copy of a key that is added while it waits', async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.depth()).toBe(2);
    const { seen, handler } = recorder();
    const workers = queue.run(handler, 1);
    await settle();
    expect(seen).toEqual(['ns/a', 'ns/b']);
    expect(queue.depth()).toBe(0);
    await workers.stop();
  });

  it('handles a key added during its processing once more afterwards, never concurrently', async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    const held = gate();
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const workers = queue.run(async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (calls === 1) await held.promise;
      running--;
    }, 4);
    queue.add('ns/a');
    await settle();
    expect(queue.inFlight()).toBe(1);
    queue.add('ns/a');
    queue.add('ns/a');
    await settle();
    // Four idle workers, and still nobody picks the key up while it is in flight.
    expect(calls).toBe(1);
    expect(queue.depth()).toBe(0);
    held.open();
    await settle();
    expect(calls).toBe(2);
    expect(maxRunning).toBe(1);
    await workers.stop();
  });

  it('spreads different keys over the workers', async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    const held = gate();
    const started: string[] = [];
    const workers = queue.run(async (key) => { started.push(key); await held.promise; }, 3);
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    expect(queue.depth()).toBe(1);
    held.open();
    await settle();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    await workers.stop();
  });

  it('backs a failing key off exponentially up to the cap, and forget starts it over', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock }, { baseDelayMs: 5, maxDelayMs: 1000, qps: 1e9, burst: 1e9 });
    const { seen, handler } = recorder();
    const workers = queue.run(handler, 1);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const before = seen.length;
      const start = clock.now();
      queue.addRateLimited('k');
      // Step one millisecond at a time to find exactly when the key comes back.
      while (seen.length === before) await clock.advance(1);
      delays.push(clock.now() - start);
    }
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(queue.numRequeues('k')).toBe(10);
    queue.forget('k');
    expect(queue.numRequeues('k')).toBe(0);
    queue.addRateLimited('k');
    await clock.advance(4);
    expect(seen).toHaveLength(10);
    await clock.advance(1);
    expect(seen).toHaveLength(11);
    await workers.stop();
  });

  it('paces a storm of failing keys with the shared token bucket', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock }, { baseDelayMs: 1, maxDelayMs: 1, qps: 10, burst: 2 });
    const { seen, handler } = recorder();
    const workers = queue.run(handler, 1);
    for (const key of ['a', 'b', 'c', 'd']) queue.addRateLimited(key);
    await clock.advance(1);
    expect(seen).toEqual(['a', 'b']); // the burst
    await clock.advance(99);
    expect(seen).toEqual(['a', 'b', 'c']); // then one per 100 ms at 10 qps
    await clock.advance(100);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    await workers.stop();
  });

  it('addAfter delivers on time with timers only, and the earliest of two delays wins', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock });
    const { seen, handler } = recorder();
    const workers = queue.run(handler, 2);
    queue.addAfter('late', 10_000);
    queue.addAfter('late', 60_000); // later than pending: ignored
    queue.addAfter('soon', 5_000);
    queue.addAfter('soon', 1_000); // earlier: replaces
    expect(clock.pendingTimers()).toBe(2);
    await clock.advance(999);
    expect(seen).toEqual([]);
    await clock.advance(1);
    expect(seen).toEqual(['soon']);
    await clock.advance(9_000);
    expect(seen).toEqual(['soon', 'late']);
    await clock.advance(100_000);
    expect(seen).toEqual(['soon', 'late']);
    expect(clock.pendingTimers()).toBe(0);
    queue.addAfter('now', 0);
    await settle();
    expect(seen).toEqual(['soon', 'late', 'now']);
    await workers.stop();
  });

  it('shutdown waits for in-flight keys, drops waiting and delayed ones, and refuses new ones', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ clock });
    const held = gate();
    const seen: string[] = [];
    let finished = false;
    let aborted = false;
    queue.run(async (key, signal) => {
      seen.push(key);
      await held.promise;
      aborted = signal.aborted;
      finished = true;
    }, 1);
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 1_000);
    await settle();
    let done = false;
    const shutdown = queue.shutdown().then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
    held.open();
    await shutdown;
    expect(finished).toBe(true);
    expect(aborted).toBe(true); // the handler could see it was asked to stop
    queue.add('d');
    expect(queue.depth()).toBe(0);
    expect(seen).toEqual(['a']);
  });

  it('keeps waiting keys for the next pool when one pool stops', async () => {
    const queue = new WorkQueue({ clock: new FakeClock() });
    const first = queue.run(() => Promise.resolve(), 1);
    await first.stop();
    queue.add('a');
    queue.add('b');
    expect(queue.depth()).toBe(2);
    const { seen, handler } = recorder();
    const second = queue.run(handler, 1);
    await settle();
    expect(seen).toEqual(['a', 'b']);
    await second.stop();
  });

  it('reports a handler that throws and keeps working', async () => {
    const errors: string[] = [];
    const queue = new WorkQueue({ clock: new FakeClock(), onError: (key) => errors.push(key) });
    const { seen, handler } = recorder();
    const workers = queue.run(async (key) => {
      if (key === 'bad') throw new Error('boom');
      await handler(key);
    }, 1);
    queue.add('bad');
    queue.add('good');
    await settle();
    expect(errors).toEqual(['bad']);
    expect(seen).toEqual(['good']);
    await workers.stop();
  });
});
