import { describe, expect, it } from 'vitest';
import { parseLimitsStores } from '../../../operator/limits/store-config.ts';
import { testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, find, operatorContainer, parseObjects, type Rendered } from './chart.ts';

const NS = 'attested-inference-system';
const STORES = [
  { url: 'rediss://Redis.limits.svc:6380/', username: 'aio-operator', passwordSecret: { name: 'limits-operator', key: 'pw' }, caSecret: { name: 'limits-ca' }, serverName: 'redis.limits.svc' },
  { url: 'redis://plain.limits.svc:6379/1', passwordSecret: { name: 'plain-operator' }, timeoutMilliseconds: 500 },
];

interface Projection {
  secret?: { name: string; items: { key: string; path: string }[] };
  configMap?: { name: string; items: { key: string; path: string }[] };
}

describe('the chart\'s limits stores for the operator', () => {
  const cluster = testCluster();
  const helm = (args: readonly string[]): ReturnType<typeof cluster.helm> => cluster.helm(args);
  const template = async (...sets: string[]): Promise<Rendered[]> =>
    parseObjects(expectOk(await helm(['template', 'attested-inference-operator', CHART_DIR, '--namespace', NS, ...sets]), 'helm template'));

  it('renders none by default: no stores file, no mount', async () => {
    const objects = await template();
    expect(operatorContainer(objects).args.filter((a) => a.startsWith('--limits-store'))).toEqual([]);
    expect(objects.filter((o) => o.metadata.name === 'attested-inference-operator-limits-stores')).toEqual([]);
  });

  it('gives the operator a stores file it accepts and each store\'s own Secrets, mounted as files', async () => {
    const objects = await template('--set-json', `limitsStore.stores=${JSON.stringify(STORES)}`);
    expect(operatorContainer(objects).args).toContain('--limits-store-config=/etc/attested-inference/limits-store/stores.json');
    const file = (find(objects, 'ConfigMap', 'attested-inference-operator-limits-stores') as unknown as { data: { 'stores.json': string } }).data['stores.json'];
    const stores = parseLimitsStores(file, 'stores.json');
    expect([...stores.values()]).toEqual([
      { url: 'rediss://redis.limits.svc:6380', username: 'aio-operator', passwordFile: '/etc/attested-inference/limits-store/0/password', caFile: '/etc/attested-inference/limits-store/0/ca.crt', serverName: 'redis.limits.svc', timeoutMilliseconds: 1000 },
      { url: 'redis://plain.limits.svc:6379/1', passwordFile: '/etc/attested-inference/limits-store/1/password', timeoutMilliseconds: 500 },
    ]);
    expect(file).not.toMatch(/pw"|password":/);
    const pod = (find(objects, 'Deployment') as unknown as { spec: { template: { spec: { volumes: { name: string; projected?: { sources: Projection[] } }[] } } } }).spec.template.spec;
    const sources = pod.volumes.find((v) => v.name === 'limits-store')?.projected?.sources ?? [];
    expect(sources.map((s) => [s.secret?.name ?? s.configMap?.name, s.secret ? 'Secret' : 'ConfigMap', s.secret?.items[0]?.key ?? s.configMap?.items[0]?.key, s.secret?.items[0]?.path ?? s.configMap?.items[0]?.path])).toEqual([
      ['attested-inference-operator-limits-stores', 'ConfigMap', 'stores.json', 'stores.json'],
      ['limits-operator', 'Secret', 'pw', '0/password'],
      ['limits-ca', 'Secret', 'ca.crt', '0/ca.crt'],
      ['plain-operator', 'Secret', 'password', '1/password'],
    ]);
  });

  it('refuses the removed single password and settings that do not fit the URL, naming the value', async () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'limitsStore.passwordSecret.name=limits-redis'], /limitsStore\.passwordSecret was removed/],
      [['--set-json', 'limitsStore.stores=[{"url":"redis://a:6379","serverName":"a"}]'], /limitsStore\.stores\[0\]: caSecret, caConfigMap and serverName are for rediss:\/\/ URLs only/],
      [['--set-json', 'limitsStore.stores=[{"url":"rediss://a:6379","caSecret":{"name":"x"},"caConfigMap":{"name":"y"}}]'], /set caSecret or caConfigMap, not both/],
      [['--set-json', 'limitsStore.stores=[{"url":"redis://a:6379"},{"url":"REDIS://A:6379/"}]'], /limitsStore\.stores\[1\]\.url redis:\/\/a:6379 is listed twice/],
      [['--set-json', 'limitsStore.stores=[{"url":"redis://user:pw@a:6379"}]'], /\/limitsStore\/stores\/0\/url': 'redis:\/\/user:pw@a:6379' does not match pattern/],
      [['--set-json', 'limitsStore.stores=[{"url":"redis://a:6379","password":"inline"}]'], /additional properties 'password' not allowed/],
    ];
    for (const [sets, says] of cases) {
      const result = await helm(['template', 'x', CHART_DIR, ...sets]);
      expect(result.code, sets.join(' ')).not.toBe(0);
      expect(result.stderr, sets.join(' ')).toMatch(says);
    }
  });
});
