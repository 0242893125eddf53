import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { storeAccess } from './store-access.ts';
import { normaliseStoreUrl, parseLimitsStores } from './store-config.ts';

const FILE = '/etc/attested-inference/limits-store/stores.json';
const parse = (document: unknown): ReturnType<typeof parseLimitsStores> => parseLimitsStores(JSON.stringify(document), FILE);

describe('the operator\'s limits store configuration', () => {
  it('keys each store by its normalised URL, with only the credential configured for it', () => {
    const stores = parse({ stores: [
      { url: 'rediss://Redis.Limits.svc:6380/', username: 'aio-operator', passwordFile: '/p/0/password', caFile: '/p/0/ca.crt', serverName: 'redis.limits.svc' },
      { url: 'redis://other.limits.svc:6379/2', timeoutMilliseconds: 300 },
    ] });
    expect([...stores.keys()]).toEqual(['rediss://redis.limits.svc:6380', 'redis://other.limits.svc:6379/2']);
    expect(stores.get('rediss://redis.limits.svc:6380')).toEqual({ url: 'rediss://redis.limits.svc:6380', username: 'aio-operator', passwordFile: '/p/0/password', caFile: '/p/0/ca.crt', serverName: 'redis.limits.svc', timeoutMilliseconds: 1000 });
    expect(stores.get('redis://other.limits.svc:6379/2')).toEqual({ url: 'redis://other.limits.svc:6379/2', timeoutMilliseconds: 300 });
  });

  it('normalises only case and a trailing slash: other spellings are other stores', () => {
    expect(normaliseStoreUrl(' REDIS://Host:6379/ ')).toBe('redis://host:6379');
    expect(normaliseStoreUrl('redis://host:6379/0')).toBe('redis://host:6379/0');
    expect(normaliseStoreUrl('redis://host')).not.toBe(normaliseStoreUrl('redis://host:6379'));
  });

  it('refuses whatever is malformed, naming the field', () => {
    expect(() => parseLimitsStores('{', FILE)).toThrow(`${FILE} is not JSON`);
    expect(() => parse({})).toThrow('stores must be a list');
    expect(() => parse({ stores: [{ url: 'redis://u:pw@host:6379' }] })).toThrow('stores[0].url must be redis://host:port[/db]');
    expect(() => parse({ stores: [{ url: 'http://host' }] })).toThrow('stores[0].url');
    expect(() => parse({ stores: [{ url: 'redis://host:6379', pasword: '/p' }] })).toThrow('stores[0] has unknown keys: pasword');
    expect(() => parse({ stores: [{ url: 'redis://host:6379', caFile: '/ca' }] })).toThrow('stores[0]: caFile and serverName are for rediss:// URLs only');
    expect(() => parse({ stores: [{ url: 'redis://host:6379', passwordFile: '' }] })).toThrow('stores[0].passwordFile must be a non-empty string');
    expect(() => parse({ stores: [{ url: 'redis://host:6379', timeoutMilliseconds: 0 }] })).toThrow('stores[0].timeoutMilliseconds');
    expect(() => parse({ stores: [{ url: 'redis://host:6379' }, { url: 'REDIS://HOST:6379/' }] })).toThrow('stores[1].url redis://host:6379 is listed twice');
  });
});

describe('which store the operator reads for an endpoint', () => {
  const stores = parse({ stores: [{ url: 'redis://redis.limits.svc:6379', username: 'aio-operator', passwordFile: '/p/0/password' }] });
  const naming = (url: string, extra: Record<string, unknown> = {}): ReturnType<typeof endpoint> => endpoint('b', {
    provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, budgets: { namespace: { daily: '1' } }, limitsStore: { redis: { url, ...extra } },
  });

  it('uses the configured credential for a configured URL, whatever user the spec names', () => {
    const access = storeAccess(naming('redis://Redis.limits.svc:6379/', { username: 'default' }), stores);
    expect(access).toEqual({ allowed: true, store: { url: 'redis://redis.limits.svc:6379', username: 'aio-operator', passwordFile: '/p/0/password', timeoutMilliseconds: 1000 } });
  });

  it('refuses any other URL, naming the field and the URL', () => {
    const access = storeAccess(naming('redis://127.0.0.1:6379'), stores);
    expect(access).toMatchObject({ allowed: false, reason: 'LimitsStoreNotAllowed' });
    expect(access.allowed ? '' : access.message).toContain('spec.limitsStore.redis.url "redis://127.0.0.1:6379" is not a limits store the operator is configured to read');
    expect(storeAccess(naming('redis://redis.limits.svc:6379/1'), stores).allowed).toBe(false);
    expect(storeAccess(naming('redis://redis.limits.svc:6379'), new Map()).allowed).toBe(false);
  });
});
