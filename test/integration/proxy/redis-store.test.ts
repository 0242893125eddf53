import { randomUUID } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../proxy/limits/memory-store.ts';
import { connectRedis, type RedisConnection } from '../../../proxy/limits/redis-connection.ts';
import { createRedisStore } from '../../../proxy/limits/redis-store.ts';
import { specFor } from '../../../proxy/limits/token-bucket.ts';
import type { BucketSpec } from '../../../proxy/limits/types.ts';
import { bucketStoreContract } from '../../harness/bucket-store-cases.ts';
import { waitFor } from '../../harness/processes.ts';
import { startRedisServer, type RedisServer } from '../../harness/redis-server.ts';

const quietLogger = { info: (): void => undefined, warn: (): void => undefined };

/** seeded is a small deterministic generator (mulberry32), so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('the Redis bucket store', () => {
  let server: RedisServer;
  let admin: Redis;
  let dir: string;
  let connection: RedisConnection;

  beforeAll(async () => {
    server = await startRedisServer({ password: 'first-secret' });
    dir = await mkdtemp(join(tmpdir(), 'aio-redis-store-'));
    await writeFile(join(dir, 'password'), 'first-secret\n');
    connection = await connectRedis({ url: server.url, passwordFile: join(dir, 'password'), timeoutMs: 1000, failurePolicy: 'FailOpen' }, { logger: quietLogger });
    admin = new Redis(server.url, { password: 'first-secret' });
    await waitFor('the store connection', () => Promise.resolve(connection.client.status === 'ready'), { timeoutMs: 5000 });
  });
  afterAll(async () => {
    await connection.close();
    admin.disconnect();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('passes the store contract', () => {
    bucketStoreContract(() => createRedisStore(connection.client, { keyPrefix: `test:{${randomUUID()}}:` }));
  });

  it('decides exactly as the in-memory store, bit for bit, over random operations', async () => {
    const random = seeded(20261128);
    const redis = createRedisStore(connection.client, { keyPrefix: `diff:{${randomUUID()}}:` });
    const memory = createMemoryStore();
    const T0 = 1_700_000_000_000;
    // Slow rates keep every bucket's expiry far beyond the test's real duration (Redis expires by its own clock).
    const specs: BucketSpec[] = [specFor(7, 3), specFor(60, 2), specFor(6, 1), specFor(1, 50), { capacity: 5_000_000, refillPerMs: 0, expireAtMs: T0 + 86_400_000 }];
    let now = T0;
    for (let step = 0; step < 400; step++) {
      now += Math.floor(random() * 4000);
      const picks = specs.map((spec, i) => ({ key: `k${i}`, spec })).filter(() => random() < 0.6);
      if (picks.length === 0) continue;
      if (random() < 0.3) {
        // A third of the charges are negative: a reservation settled below its estimate gives back, up to the capacity.
        const sign = (): number => (random() < 0.33 ? -1 : 1);
        const charges = picks.map((p) => ({ ...p, amount: sign() * (p.spec.refillPerMs === 0 ? Math.floor(random() * 400_000) : Math.floor(random() * 4) + random()) }));
        expect(await redis.charge(charges, now), `charge at step ${step}`).toEqual(await memory.charge(charges, now));
      } else {
        // Takes as admission (0 or 1, minimum 1) and as reservations (an amount, needing at least that much).
        const takes = picks.map((p) => {
          const amount = random() < 0.5 ? Math.floor(random() * 3) : random() * 3;
          return { ...p, amount, minimum: Math.max(1, amount) };
        });
        expect(await redis.take(takes, now), `take at step ${step}`).toEqual(await memory.take(takes, now));
      }
    }
  });

  it('takes all of a request\'s buckets in one round trip', async () => {
    const client = new Redis(server.url, { password: 'first-secret' });
    const sent: string[] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = (command, ...rest) => {
      sent.push(command.name);
      return send(command, ...rest);
    };
    const store = createRedisStore(client, { keyPrefix: `trip:{${randomUUID()}}:` });
    const budget = { capacity: 1000, refillPerMs: 0, expireAtMs: Date.now() + 60_000 };
    const batch = [
      { key: 'budget', spec: budget, amount: 0, minimum: 1 },
      { key: 'tokens', spec: specFor(600), amount: 0, minimum: 1 },
      { key: 'requests', spec: specFor(60), amount: 1, minimum: 1 },
      { key: 'ns-requests', spec: specFor(600), amount: 1, minimum: 1 },
    ];
    await store.take(batch, Date.now()); // connects, and loads the script if this Redis has not seen it
    sent.length = 0;
    await store.take(batch, Date.now());
    await store.charge([{ key: 'tokens', spec: specFor(600), amount: 50 }, { key: 'budget', spec: budget, amount: 20 }], Date.now());
    expect(sent).toEqual(['evalsha', 'evalsha']);
    const [spent] = await store.take([batch[0]!], Date.now());
    expect(spent?.remaining).toBe(980);
    client.disconnect();
  });

  it('lets keys expire: none for a full bucket, until full again for a used one, the window end for a budget', async () => {
    const prefix = `ttl:{${randomUUID()}}:`;
    const store = createRedisStore(connection.client, { keyPrefix: prefix });
    const now = Date.now();
    await store.take([{ key: 'checked', spec: specFor(60), amount: 0, minimum: 1 }], now);
    await store.take([{ key: 'used', spec: specFor(60, 10), amount: 5, minimum: 1 }], now);
    await store.charge([{ key: 'spent', spec: { capacity: 100, refillPerMs: 0, expireAtMs: now + 3_600_000 }, amount: 7 }], now);
    expect(await admin.exists(`${prefix}checked`)).toBe(0);
    const grace = 60_000;
    expect(await admin.pttl(`${prefix}used`)).toBeGreaterThan(grace + 4000);
    expect(await admin.pttl(`${prefix}used`)).toBeLessThanOrEqual(grace + 5000);
    expect(await admin.pttl(`${prefix}spent`)).toBeGreaterThan(grace + 3_590_000);
    expect(await admin.pttl(`${prefix}spent`)).toBeLessThanOrEqual(grace + 3_600_000);
  });

  it('follows its password file: a new password is used from the next connection', async () => {
    await admin.config('SET', 'requirepass', 'second-secret');
    await writeFile(join(dir, 'password.new'), 'second-secret\n');
    await rename(join(dir, 'password.new'), join(dir, 'password'));
    const store = createRedisStore(connection.client, { keyPrefix: `pw:{${randomUUID()}}:` });
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'); // drop the store's connection
    await waitFor('the store to reconnect with the new password', async () => {
      const [state] = await store.take([{ key: 'a', spec: specFor(60), amount: 1, minimum: 1 }], Date.now());
      return state?.allowed === true;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    await admin.config('SET', 'requirepass', 'first-secret');
  });
});
