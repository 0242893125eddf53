import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { RateLimiter, type RateLimiterOptions } from './rate-limiter.ts';

/** KeyHandler processes one key; `signal` aborts when its workers are asked to stop. */
export type KeyHandler = (key: string, signal: AbortSignal) => Promise<void>;

/** Workers is a running pool; `stop` aborts their signal and resolves once in-flight keys are done. */
export interface Workers {
  stop(): Promise<void>;
}

/** WorkQueueDeps are the queue's collaborators. */
export interface WorkQueueDeps {
  readonly clock?: Clock;
  /** onError hears about a handler that threw; handlers are expected to retry through the queue themselves. */
  readonly onError?: (key: string, error: unknown) => void;
}

interface Delayed {
  readonly at: number;
  readonly handle: TimerHandle;
}

/**
 * WorkQueue is a rate-limited queue of string keys with client-go's guarantees: a key waits in
 * the queue at most once; a key is never handled by two workers at once; a key added while it is
 * being handled is handled once more afterwards. Failed keys come back with per-key exponential
 * backoff plus an overall token bucket; `addAfter` schedules a key for later. Idle workers wait on
 * a promise and delays are timers, so nothing polls.
 */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #onError: (key: string, error: unknown) => void;
  readonly #limiter: RateLimiter;
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, Delayed>();
  readonly #pools = new Set<Workers>();
  #wakers: (() => void)[] = [];
  #shuttingDown = false;

  constructor(deps: WorkQueueDeps = {}, limits: RateLimiterOptions = {}) {
    this.#clock = deps.clock ?? systemClock;
    this.#onError = deps.onError ?? ((): void => undefined);
    this.#limiter = new RateLimiter(this.#clock.now(), limits);
  }

  /** add queues `key` unless it is already waiting; a key being handled is queued again when it finishes. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#wake();
  }

  /** addAfter queues `key` in `ms`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      this.#clock.clearTimeout(pending.handle);
    }
    const handle = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { at, handle });
  }

  /** addRateLimited queues `key` after its backoff (doubling per failure until `forget`) or the token bucket's wait, whichever is longer. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.addAfter(key, this.#limiter.when(key, this.#clock.now()));
  }

  /** forget resets `key`'s backoff; call it when the key was handled successfully. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  /** numRequeues is how many times `key` was rate-limited since it was last forgotten. */
  numRequeues(key: string): number {
    return this.#limiter.failures(key);
  }

  /** depth is how many keys wait to be handled now (neither in flight nor delayed): the workqueue depth gauge. */
  depth(): number {
    return this.#queue.length;
  }

  /** inFlight is how many keys workers are handling now. */
  inFlight(): number {
    return this.#processing.size;
  }

  /** isShuttingDown says whether `shutdown` was called. */
  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * run starts `count` workers feeding keys to `handler`. Several pools may run over the queue's
   * life (one per leadership term); stopping a pool leaves waiting keys in the queue for the next.
   */
  run(handler: KeyHandler, count: number): Workers {
    if (!Number.isInteger(count) || count < 1) throw new Error(`worker count must be a positive integer, got ${count}`);
    const controller = new AbortController();
    const loops = Array.from({ length: count }, () => this.#work(handler, controller.signal));
    const all = Promise.all(loops).then(() => undefined);
    const pool: Workers = {
      stop: async () => {
        controller.abort();
        this.#wake();
        await all;
        this.#pools.delete(pool);
      },
    };
    this.#pools.add(pool);
    return pool;
  }

  /** shutdown refuses further keys, drops waiting and delayed ones, stops every pool and resolves once in-flight keys are done. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const { handle } of this.#delayed.values()) this.#clock.clearTimeout(handle);
    this.#delayed.clear();
    // Waiting keys are dropped, not handled: reconciles are level-based, and whoever runs next
    // (this process after a restart, or the next leader) starts from a full list.
    this.#queue.length = 0;
    this.#dirty.clear();
    await Promise.all([...this.#pools].map((pool) => pool.stop()));
  }

  async #work(handler: KeyHandler, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const key = this.#take();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.#wakers.push(resolve));
        continue;
      }
      try {
        await handler(key, signal);
      } catch (error) {
        this.#onError(key, error);
      } finally {
        this.#done(key);
      }
    }
  }

  #take(): string | undefined {
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }

  #done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#queue.push(key);
      this.#wake();
    }
  }

  // Wakes every idle worker; those that find the queue empty go back to waiting. Pools are few and
  // small, and waking all means a worker whose pool stopped cannot swallow another worker's wake-up.
  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }
}
