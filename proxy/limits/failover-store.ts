import { performance } from 'node:perf_hooks';
import { ProxyError } from '../errors.ts';
import type { BucketCharge, BucketRequest, BucketState, BucketStore } from './types.ts';

/** FailurePolicy is what an endpoint does while its shared store is unreachable. */
export type FailurePolicy = 'FailOpen' | 'FailClosed';

/** StoreOperation names the two operations, as metric labels. */
export type StoreOperation = 'take' | 'charge';

/** StoreObserver hears the outcome and duration of every operation on the shared store. */
export interface StoreObserver {
  result(operation: StoreOperation, ok: boolean, seconds: number, error?: unknown): void;
}

/** FailoverOptions: the shared store, the per-replica store behind it, the policy and who observes. */
export interface FailoverOptions {
  readonly shared: BucketStore;
  readonly local: BucketStore;
  readonly policy: FailurePolicy;
  readonly observer: StoreObserver;
}

/**
 * createFailoverStore sends every operation to the shared store first. When it fails (Redis down,
 * timed out, refusing), a take falls back to the per-replica store under `FailOpen` (the same
 * limits, enforced by each replica alone) or is refused with 503 `limits_unavailable` under
 * `FailClosed`; a charge always lands in the per-replica store, so usage during an outage still
 * holds this replica back. Nothing is remembered between operations: the next one tries the shared
 * store again, so recovery needs no restart, only the client's own reconnect. The per-replica
 * buckets are not merged into Redis when it returns (ADR 0007 says why that is acceptable).
 */
export function createFailoverStore(options: FailoverOptions): BucketStore {
  const { shared, local, policy, observer } = options;
  const attempt = async <T>(operation: StoreOperation, run: (store: BucketStore) => Promise<T>): Promise<T | undefined> => {
    const started = performance.now();
    try {
      const result = await run(shared);
      observer.result(operation, true, (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      observer.result(operation, false, (performance.now() - started) / 1000, error);
      return undefined;
    }
  };
  return {
    take: async (requests: readonly BucketRequest[], nowMs: number): Promise<BucketState[]> => {
      const answer = await attempt('take', (s) => s.take(requests, nowMs));
      if (answer !== undefined) return answer;
      if (policy === 'FailClosed') throw new ProxyError('limits_unavailable');
      return local.take(requests, nowMs);
    },
    charge: async (charges: readonly BucketCharge[], nowMs: number): Promise<BucketState[]> =>
      (await attempt('charge', (s) => s.charge(charges, nowMs))) ?? local.charge(charges, nowMs),
  };
}
