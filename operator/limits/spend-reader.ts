import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { defaultKeyPrefix } from '../../proxy/config/schema-limits.ts';
import { NAMESPACE_OWNER, spendKey } from '../../proxy/limits/budgets.ts';
import type { ConnectionLogger, RedisConnection } from '../../proxy/limits/redis-connection.ts';
import type { BudgetWindow } from '../../proxy/limits/types.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { ConnectionPool } from './connection-pool.ts';
import { LimitsStoreRefused, storeAccess } from './store-access.ts';
import type { LimitsStores, StoreCredential } from './store-config.ts';

/** SpendReader reads a namespace's spend per budget window from an endpoint's limits store. */
export interface SpendReader {
  /**
   * read returns the spend, in micro-units, of each window. It throws `LimitsStoreRefused` (without
   * connecting anywhere) when the endpoint's store is not one the operator is configured to read,
   * and another error when the store cannot be read.
   */
  read(endpoint: InferenceEndpoint, windows: readonly BudgetWindow[], nowMs: number): Promise<Partial<Record<BudgetWindow, number>>>;
  /** forget tells the reader endpoint `namespace/name` no longer reads budgets (deleted, or no namespace budgets). */
  forget(key: string): void;
  close(): Promise<void>;
}

/** ConnectStore opens a connection to one configured store (tests pass their own). */
export type ConnectStore = (store: StoreCredential, logger: ConnectionLogger) => Promise<RedisConnection>;

/** SpendReaderOptions: the stores the operator may read and its credential for each (ADR 0009), and the pool's bounds. */
export interface SpendReaderOptions {
  readonly stores: LimitsStores;
  readonly logger: ConnectionLogger;
  /** maxConnections is how many stores may be connected at once (default 16). */
  readonly maxConnections?: number;
  /** idleMs closes a connection no read used for that long (default ten minutes: a budget poll is a minute). */
  readonly idleMs?: number;
  readonly now?: () => number;
  readonly connect?: ConnectStore;
}

/**
 * connectStore opens the connection with the operator's own credential for `store`. For
 * `rediss://` the certificate is verified (Node's default, never turned off here) against the
 * configured CA file, else the system CAs, and the configured server name.
 */
export const connectStore: ConnectStore = async (store, logger) => {
  // The Redis client (~20 MiB) is loaded with the first store read.
  const { connectRedis } = await import('../../proxy/limits/redis-connection.ts');
  const tls = store.caFile === undefined && store.serverName === undefined
    ? undefined
    : { ...(store.caFile === undefined ? {} : { caFile: store.caFile }), ...(store.serverName === undefined ? {} : { serverName: store.serverName }) };
  return connectRedis({
    url: store.url,
    ...(store.username === undefined ? {} : { username: store.username }),
    ...(store.passwordFile === undefined ? {} : { passwordFile: store.passwordFile }),
    ...(tls === undefined ? {} : { tls }),
    timeoutMs: store.timeoutMilliseconds,
    failurePolicy: 'FailClosed',
  }, { logger });
};

async function ready(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await once(client, 'ready', { signal: AbortSignal.timeout(timeoutMs) });
}

function endpointKey(endpoint: InferenceEndpoint): string {
  return `${endpoint.metadata.namespace ?? ''}/${endpoint.metadata.name ?? ''}`;
}

/**
 * createRedisSpendReader reads the keys the proxies' limiter writes (a budget's bucket holds minus
 * the spend; an absent key is no spend yet), only from the stores in `stores` and only with the
 * credential configured for each; one pooled connection per store. The operator reads only
 * (`HGET`); its Redis user should be allowed nothing else (docs/adr/0009-limits-store-credentials.md).
 */
export function createRedisSpendReader(options: SpendReaderOptions): SpendReader {
  const connect = options.connect ?? connectStore;
  const pool = new ConnectionPool<RedisConnection>({ maxOpen: options.maxConnections ?? 16, idleMs: options.idleMs ?? 600_000, now: options.now ?? Date.now });
  return {
    async read(endpoint, windows, nowMs) {
      const access = storeAccess(endpoint, options.stores);
      if (!access.allowed) {
        pool.forget(endpointKey(endpoint));
        throw new LimitsStoreRefused(access.message);
      }
      const { store } = access;
      const { client } = await pool.acquire(endpointKey(endpoint), store.url, () => connect(store, options.logger));
      await ready(client, store.timeoutMilliseconds);
      const prefix = defaultKeyPrefix(endpoint.metadata.namespace ?? '');
      const levels = await Promise.all(windows.map((w) => client.hget(`${prefix}${spendKey(NAMESPACE_OWNER, w, nowMs)}`, 'l')));
      return Object.fromEntries(windows.map((w, i) => [w, levels[i] == null ? 0 : Math.max(0, 0 - Number(levels[i]))]));
    },
    forget(key) {
      pool.forget(key);
    },
    close: () => pool.close(),
  };
}
