import type { Clock, TimerHandle } from './clock.ts';

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * FakeClock is a Clock for unit tests: time moves only when the test calls `advance`, which runs
 * every timer that falls due, in order of due time, then lets promise continuations settle.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, PendingTimer>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** pendingTimers is how many timers are armed; a test uses it to prove nothing polls. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** advance moves time forward by `ms`, firing due timers (and the timers they arm) on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (let next = this.#due(target); next !== undefined; next = this.#due(target)) {
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #due(target: number): PendingTimer | undefined {
    let earliest: PendingTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (timer.at <= target && (earliest === undefined || timer.at < earliest.at)) earliest = timer;
    }
    return earliest;
  }
}

/** settle lets queued promise continuations run; a few macrotask turns cover chains of awaits. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
