/** TimerHandle is whatever a Clock's setTimeout returns (a Node Timeout, a fake's number); only its own clearTimeout understands it. */
export type TimerHandle = object | number;

/**
 * Clock is time as the controller runtime sees it: the current instant and one-shot timers. Every
 * piece of the runtime takes one in its deps so unit tests can drive time by hand (FakeClock).
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * systemClock is wall-clock time and Node's timers. Its timers are unref'd: a pending requeue or
 * retry must never be the reason the process stays alive after everything else has stopped.
 */
export const systemClock: Clock = Object.freeze({
  now: (): number => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, Math.max(0, ms)).unref(),
  clearTimeout: (handle: TimerHandle): void => {
    clearTimeout(handle as NodeJS.Timeout);
  },
});

/** sleep resolves after `ms` on `clock`, or early (without rejecting) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** jittered spreads `ms` up to `factor` times longer, as client-go's wait.Jitter does, so replicas do not retry in lockstep. */
export function jittered(ms: number, factor: number, random: () => number = Math.random): number {
  return ms + ms * factor * random();
}
