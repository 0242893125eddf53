import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { startRecordingRedis, type RecordingRedis } from '../../test/harness/recording-redis.ts';
import { createRedisSpendReader, type SpendReader } from './spend-reader.ts';
import { LimitsStoreRefused } from './store-access.ts';
import { parseLimitsStores } from './store-config.ts';

const PASSWORD = 'operator-read-only-password';
const quiet = { info: (): void => undefined, warn: (): void => undefined };

describe('the spend reader connects only to configured stores, with their own credential', () => {
  let configured: RecordingRedis;
  let tenant: RecordingRedis;
  let dir: string;
  let reader: SpendReader;
  const naming = (name: string, url: string): ReturnType<typeof endpoint> => endpoint(name, {
    provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, budgets: { namespace: { daily: '1' } },
    limitsStore: { redis: { url, username: 'tenant-chosen-user' } },
  });

  beforeAll(async () => {
    [configured, tenant] = await Promise.all([startRecordingRedis(), startRecordingRedis()]);
    dir = await mkdtemp(join(tmpdir(), 'aio-spend-reader-'));
    await writeFile(join(dir, 'password'), `${PASSWORD}\n`);
    const stores = parseLimitsStores(JSON.stringify({ stores: [{ url: configured.url, username: 'aio-operator', passwordFile: join(dir, 'password') }] }), 'stores.json');
    reader = createRedisSpendReader({ stores, logger: quiet });
  });
  afterAll(async () => {
    await reader.close();
    await Promise.all([configured.close(), tenant.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a URL it has no entry for without opening a connection', async () => {
    const attempt = reader.read(naming('a', tenant.url), ['day'], Date.now());
    await expect(attempt).rejects.toBeInstanceOf(LimitsStoreRefused);
    await expect(attempt).rejects.toThrow(`spec.limitsStore.redis.url "${tenant.url}"`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(tenant.connections()).toBe(0);
  });

  it('reads a configured store as its own user, never the one the spec names', async () => {
    expect(await reader.read(naming('b', `${configured.url}/`), ['day', 'month'], Date.now())).toEqual({ day: 0, month: 0 });
    // ioredis offers RESP3 first (HELLO 3 AUTH user password), then AUTH user password when refused.
    expect(configured.credentials().map((c) => c.slice(-2))).toEqual([['aio-operator', PASSWORD], ['aio-operator', PASSWORD]]);
    const sent = configured.commands().map((c) => (c[0] ?? '').toUpperCase());
    expect(sent.filter((c) => !['HELLO', 'AUTH', 'INFO', 'CLIENT'].includes(c))).toEqual(['HGET', 'HGET']);
    expect(configured.commands().filter((c) => c[0]?.toUpperCase() === 'HGET').map((c) => c[1])).toEqual([
      expect.stringMatching(/^aio:\{team-a\}:namespace:spend:day:/) as unknown,
      expect.stringMatching(/^aio:\{team-a\}:namespace:spend:month:/) as unknown,
    ]);
  });
});
