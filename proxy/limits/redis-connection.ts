import { readFile } from 'node:fs/promises';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisStoreConfig } from '../config/schema-limits.ts';
import { watchFile, type WatchedFile } from '../secrets/watched-file.ts';

/** ConnectionLogger is the part of the proxy's logger the connection uses; it never logs the password. */
export interface ConnectionLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** ConnectionDeps: where to log, and whom to tell when the connection comes up or goes down. */
export interface ConnectionDeps {
  readonly logger: ConnectionLogger;
  readonly onState?: (up: boolean) => void;
}

/** RedisConnection is a client that reconnects on its own, and the password file it follows. */
export interface RedisConnection {
  readonly client: Redis;
  close(): Promise<void>;
}

/** RECONNECT_MAX_MS caps the wait between reconnect attempts, so recovery is seen within two seconds. */
const RECONNECT_MAX_MS = 2000;

async function tlsOptions(config: RedisStoreConfig): Promise<RedisOptions['tls']> {
  if (!config.url.startsWith('rediss://')) return undefined;
  const ca = config.tls?.caFile === undefined ? undefined : await readFile(config.tls.caFile, 'utf8');
  return { ...(ca === undefined ? {} : { ca }), ...(config.tls?.serverName === undefined ? {} : { servername: config.tls.serverName }) };
}

/**
 * connectRedis opens the shared limits store's connection. Commands never wait for a connection
 * (`enableOfflineQueue: false`, no retries per request) and time out after `timeoutMs`, so an
 * unreachable Redis costs a request at most that long before the failure policy applies; the client
 * keeps reconnecting in the background (every 2 s at most), so a Redis that returns is used again
 * without a restart. The password is read from `passwordFile` (docs/architecture.md §5: secrets are
 * mounted files) and re-read when the file changes; a new password is used from the next connection.
 */
export async function connectRedis(config: RedisStoreConfig, deps: ConnectionDeps): Promise<RedisConnection> {
  const { logger } = deps;
  let password: WatchedFile<string> | undefined;
  if (config.passwordFile !== undefined) {
    const path = config.passwordFile;
    password = await watchFile(path, {
      parse: (text) => text.trim(),
      onChange: (_value, error) => {
        if (error) logger.warn({ path, reason: error.message }, 'limits store password is unavailable');
        else logger.info({ path }, 'limits store password loaded');
      },
    });
  }
  const tls = await tlsOptions(config);
  const client = new Redis(config.url, {
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(tls === undefined ? {} : { tls }),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.timeoutMs,
    connectTimeout: Math.max(config.timeoutMs, 1000),
    retryStrategy: (attempt: number) => Math.min(attempt * 100, RECONNECT_MAX_MS),
    lazyConnect: true,
  });
  if (password !== undefined) {
    const current = password;
    // ioredis reads options.password on every (re)connect.
    Object.defineProperty(client.options, 'password', { get: () => current.current(), enumerable: true, configurable: true });
  }
  let reported: 'up' | 'down' | undefined;
  const report = (state: 'up' | 'down', fields: object): void => {
    if (state === reported) return;
    reported = state;
    deps.onState?.(state === 'up');
    if (state === 'up') logger.info(fields, 'limits store connected');
    else logger.warn(fields, 'limits store unreachable');
  };
  client.on('ready', () => report('up', { url: config.url }));
  client.on('error', (error: Error) => report('down', { url: config.url, reason: error.message }));
  client.on('close', () => report('down', { url: config.url }));
  // The first connection may fail (Redis not up yet); the client then retries on its own.
  client.connect().catch(() => undefined);
  return {
    client,
    async close(): Promise<void> {
      password?.close();
      client.disconnect();
      await Promise.resolve();
    },
  };
}
