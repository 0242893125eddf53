import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './load.ts';
import { CONFIG_API_VERSION } from './schema.ts';
import { defaultKeyPrefix } from './schema-limits.ts';

const minimal = { apiVersion: CONFIG_API_VERSION, provider: { type: 'tinfoil' } };

const parse = (limits: unknown): unknown => parseConfig({ ...minimal, limits });

describe('proxy configuration: limits', () => {
  it('defaults to per-replica limits without budgets', () => {
    expect(parseConfig(minimal).limits).toEqual({ budgets: {}, reservation: { defaultOutputTokens: 1024, inputBytesPerToken: 4 }, store: { type: 'memory' } });
  });

  it('takes per-caller and namespace rates, budgets and a Redis store with its defaults', () => {
    const limits = parseConfig({
      ...minimal,
      limits: {
        requestsPerMinute: 60,
        namespace: { tokensPerMinute: 100_000 },
        budgets: { caller: { dailyMicros: 5_000_000 }, namespace: { monthlyMicros: 900_000_000 } },
        store: { type: 'redis', redis: { url: 'rediss://redis.limits.svc:6380/0', passwordFile: '/etc/attested-inference/redis/password' } },
      },
    }).limits;
    expect(limits.store.redis).toEqual({ url: 'rediss://redis.limits.svc:6380/0', passwordFile: '/etc/attested-inference/redis/password', timeoutMs: 250, failurePolicy: 'FailOpen' });
    expect(limits.budgets.namespace).toEqual({ monthlyMicros: 900_000_000 });
  });

  it('names the option that is wrong', () => {
    // ConfigError's message lists every problem, one a line.
    expect(() => parse({ store: { type: 'redis' } })).toThrow(ConfigError);
    expect(() => parse({ store: { type: 'redis' } })).toThrow('\n  - limits.store.redis is required when limits.store.type is redis');
    expect(() => parse({ store: { redis: { url: 'redis://127.0.0.1:6379' } } })).toThrow('\n  - limits.store.redis is only allowed when limits.store.type is redis');
    expect(() => parse({ store: { type: 'redis', redis: { url: 'http://redis:6379' } } })).toThrow('\n  - limits.store.redis.url must match');
    expect(() => parse({ budgets: { caller: { dailyMicros: -1 } } })).toThrow('\n  - limits.budgets.caller.dailyMicros must be');
    expect(() => parse({ budgets: { caller: { weeklyMicros: 1 } } })).toThrow('\n  - limits.budgets.caller.weeklyMicros is not a known option');
  });

  it('keeps each namespace in a key prefix of its own, one Redis Cluster slot', () => {
    expect(defaultKeyPrefix('team-a')).toBe('aio:{team-a}:');
  });
});
