import { performance } from 'node:perf_hooks';
import { createRateLimiter } from '../proxy/limits/limiter.ts';
import { createMemoryStore } from '../proxy/limits/memory-store.ts';
import { connectRedis } from '../proxy/limits/redis-connection.ts';
import { createRedisStore } from '../proxy/limits/redis-store.ts';
import type { BucketStore, LimitPolicy } from '../proxy/limits/types.ts';
import { waitFor } from '../test/harness/processes.ts';
import { startRedisServer } from '../test/harness/redis-server.ts';
import type { LimitsCost, LimitsTiming } from './results.ts';
import { percentile } from './stats.ts';

/**
 * The shared limits check: the limiter's `admit` (one request's buckets: caller and namespace
 * requests and tokens, a caller daily and a namespace monthly budget), its `reserve` of the
 * request's estimate and its `settle` to the real usage, against the in-memory store and against a
 * loopback redis-server, one call at a time. "Added" is what the shared store adds to the check a
 * proxy makes before every request; the reservation is a round trip of its own, all of it added.
 */

// Limits high enough never to refuse during the run, so every call does the full work.
const POLICY: LimitPolicy = {
  requestsPerMinute: 10_000_000,
  tokensPerMinute: 1_000_000_000,
  namespace: { requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000 },
  budgets: { caller: { dailyMicros: 1e13 }, namespace: { monthlyMicros: 1e14 } },
};

async function time(store: BucketStore, runs: number, warmup: number): Promise<LimitsTiming> {
  const limiter = createRateLimiter(POLICY, store, { now: Date.now });
  const admits: number[] = [];
  const reserves: number[] = [];
  const charges: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const caller = `key:bench-${String(i % 16)}`;
    let started = performance.now();
    const admission = await limiter.admit(caller);
    const admitted = performance.now() - started;
    if (!admission.allowed) throw new Error(`the benchmark policy refused a request (${admission.limit ?? '?'})`);
    started = performance.now();
    const reserved = await limiter.reserve(caller, { tokens: 1200, costMicros: 1300 });
    const reserving = performance.now() - started;
    if (reserved.reservation === undefined) throw new Error(`the benchmark policy refused a reservation (${reserved.limit ?? '?'})`);
    started = performance.now();
    await limiter.settle(reserved.reservation, { tokens: 150, costMicros: 150 });
    const charged = performance.now() - started;
    if (i >= warmup) {
      admits.push(admitted * 1000);
      reserves.push(reserving * 1000);
      charges.push(charged * 1000);
    }
  }
  return {
    admitP50Us: percentile(admits, 50), admitP99Us: percentile(admits, 99),
    reserveP50Us: percentile(reserves, 50), reserveP99Us: percentile(reserves, 99),
    chargeP50Us: percentile(charges, 50), chargeP99Us: percentile(charges, 99),
  };
}

/** measureLimits times `runs` checks and charges per store, after a warm-up of a tenth as many. */
export async function measureLimits(runs: number): Promise<LimitsCost> {
  const redis = await startRedisServer();
  const quiet = { info: (): void => undefined, warn: (): void => undefined };
  const connection = await connectRedis({ url: redis.url, timeoutMs: 1000, failurePolicy: 'FailClosed' }, { logger: quiet });
  try {
    await waitFor('the benchmark to reach redis-server', () => Promise.resolve(connection.client.status === 'ready'), { timeoutMs: 10_000 });
    const warmup = Math.ceil(runs / 10);
    const memory = await time(createMemoryStore(), runs, warmup);
    const shared = await time(createRedisStore(connection.client, { keyPrefix: 'aio:{bench}:' }), runs, warmup);
    return { runs, buckets: 6, memory, redis: shared, addedP50Us: shared.admitP50Us - memory.admitP50Us, addedP99Us: shared.admitP99Us - memory.admitP99Us };
  } finally {
    await connection.close();
    await redis.close();
  }
}
