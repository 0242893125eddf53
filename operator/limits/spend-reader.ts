import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { defaultKeyPrefix } from '../../proxy/config/schema-limits.ts';
import { NAMESPACE_OWNER, spendKey } from '../../proxy/limits/budgets.ts';
import type { ConnectionLogger, RedisConnection } from '../../proxy/limits/redis-connection.ts';
import type { BudgetWindow } from '../../proxy/limits/types.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';

/** SpendReader reads a namespace's spend per budget window from an endpoint's limits store. */
export interface SpendReader {
  /** read returns the spend, in micro-units, of each window; it throws when the store cannot be read. */
  read(endpoint: InferenceEndpoint, windows: readonly BudgetWindow[], nowMs: number): Promise<Partial<Record<BudgetWindow, number>>>;
  close(): Promise<void>;
}

/** SpendReaderOptions: the Redis password mounted into the operator's own pod (ARCHITECTURE.md §5), if any. */
export interface SpendReaderOptions {
  readonly passwordFile?: string;
  readonly logger: ConnectionLogger;
}

async function ready(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await once(client, 'ready', { signal: AbortSignal.timeout(timeoutMs) });
}

/**
 * createRedisSpendReader reads the keys the proxies' limiter writes (a budget's bucket holds minus
 * the spend; an absent key is no spend yet), with one connection per Redis URL and user, reused
 * across reconciles. The operator reads only; it never changes a bucket.
 */
export function createRedisSpendReader(options: SpendReaderOptions): SpendReader {
  const connections = new Map<string, Promise<RedisConnection>>();
  const connection = (endpoint: InferenceEndpoint): Promise<RedisConnection> => {
    const redis = endpoint.spec.limitsStore?.redis;
    if (redis === undefined) return Promise.reject(new Error('the endpoint names no limits store'));
    const id = `${redis.username ?? ''}@${redis.url}`;
    let existing = connections.get(id);
    if (existing === undefined) {
      // The Redis client (~20 MiB) is loaded with the first endpoint that declares a store.
      existing = import('../../proxy/limits/redis-connection.ts').then(({ connectRedis }) => connectRedis({
        url: redis.url,
        ...(redis.username === undefined ? {} : { username: redis.username }),
        ...(options.passwordFile === undefined ? {} : { passwordFile: options.passwordFile }),
        ...(redis.serverName === undefined ? {} : { tls: { serverName: redis.serverName } }),
        timeoutMs: redis.timeoutMilliseconds,
        failurePolicy: redis.failurePolicy,
      }, { logger: options.logger }));
      connections.set(id, existing);
    }
    return existing;
  };
  return {
    async read(endpoint, windows, nowMs) {
      const { client } = await connection(endpoint);
      await ready(client, endpoint.spec.limitsStore?.redis.timeoutMilliseconds ?? 250);
      const prefix = defaultKeyPrefix(endpoint.metadata.namespace ?? '');
      const levels = await Promise.all(windows.map((w) => client.hget(`${prefix}${spendKey(NAMESPACE_OWNER, w, nowMs)}`, 'l')));
      return Object.fromEntries(windows.map((w, i) => [w, levels[i] == null ? 0 : Math.max(0, 0 - Number(levels[i]))]));
    },
    async close() {
      const all = [...connections.values()];
      connections.clear();
      await Promise.all(all.map(async (c) => (await c).close()));
    },
  };
}
