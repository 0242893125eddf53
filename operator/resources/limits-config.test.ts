import type { V1ConfigMap, V1Deployment, V1NetworkPolicy } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../proxy/config/load.ts';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { desiredChildren, type DesiredOptions } from './desired.ts';
import { limitsConfigFor } from './limits-config.ts';

const options: DesiredOptions = { image: { image: 'registry.local/proxy:1.0.0', pullPolicy: 'IfNotPresent' }, tokenReviewClusterRole: 'attested-inference-tokenreview', apiServerPorts: [443] };

const shared = endpoint('shared', {
  provider: 'tinfoil',
  apiKeySecretRef: { name: 'k' },
  prices: { currency: 'EUR', default: { input: '1', output: '2' } },
  rateLimits: { requestsPerMinute: 60, namespace: { requestsPerMinute: 600, tokensPerMinute: 100_000, burstTokens: 20_000 } },
  budgets: { perCaller: { daily: '5' }, namespace: { daily: '0.000001', monthly: '1500.25' } },
  reservation: { defaultOutputTokens: 256, inputBytesPerToken: 1 },
  limitsStore: {
    redis: { url: 'rediss://redis.limits.svc:6380/2', username: 'aio', passwordSecretRef: { name: 'limits-redis' }, caSecretRef: { name: 'limits-ca', key: 'ca.pem' }, serverName: 'redis.internal', failurePolicy: 'FailClosed' },
  },
});

function configOf(children: ReturnType<typeof desiredChildren>): ReturnType<typeof parseConfig> {
  const configMap = children.objects.find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
  return parseConfig(parseAllDocuments(configMap.data!['proxy.yaml']!)[0]!.toJS());
}

describe('limits in the rendered proxy configuration', () => {
  it('renders rates, budgets in exact micro-units and the Redis store, which the proxy accepts', () => {
    const config = configOf(desiredChildren(shared, options));
    expect(config.limits).toEqual({
      requestsPerMinute: 60,
      namespace: { requestsPerMinute: 600, tokensPerMinute: 100_000, burstTokens: 20_000 },
      budgets: { caller: { dailyMicros: 5_000_000 }, namespace: { dailyMicros: 1, monthlyMicros: 1_500_250_000 } },
      reservation: { defaultOutputTokens: 256, inputBytesPerToken: 1 },
      store: {
        type: 'redis',
        redis: {
          url: 'rediss://redis.limits.svc:6380/2',
          username: 'aio',
          passwordFile: '/var/run/secrets/inference/limits-store/password',
          tls: { caFile: '/var/run/secrets/inference/limits-store/ca.crt', serverName: 'redis.internal' },
          timeoutMs: 250,
          failurePolicy: 'FailClosed',
        },
      },
    });
  });

  it('keeps limits in memory when the spec names no store', () => {
    const plain = endpoint('plain', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, rateLimits: { tokensPerMinute: 1000 } });
    expect(limitsConfigFor(plain.spec)).toEqual({ tokensPerMinute: 1000, budgets: {}, store: { type: 'memory' } });
    expect(configOf(desiredChildren(plain, options)).limits.store).toEqual({ type: 'memory' });
  });

  it('mounts the password and CA into the proxy container only, and lets the proxy reach Redis', () => {
    const children = desiredChildren(shared, options);
    const pod = (children.objects.find((o) => o.kind === 'Deployment') as V1Deployment).spec!.template.spec!;
    const volume = pod.volumes!.find((v) => v.name === 'attested-inference-limits-store')!;
    expect(volume.projected!.sources).toEqual([
      { secret: { name: 'limits-redis', items: [{ key: 'password', path: 'password' }] } },
      { secret: { name: 'limits-ca', items: [{ key: 'ca.pem', path: 'ca.crt' }] } },
    ]);
    expect(pod.containers).toHaveLength(1);
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'attested-inference-limits-store', mountPath: '/var/run/secrets/inference/limits-store', readOnly: true });
    const policy = children.objects.find((o) => o.kind === 'NetworkPolicy') as V1NetworkPolicy;
    expect(policy.spec!.egress!.flatMap((e) => e.ports ?? []).map((p) => p.port)).toContain(6380);
  });

  it('defaults the Redis port to 6379 and mounts nothing without secrets', () => {
    const bare = endpoint('bare', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, budgets: { perCaller: { monthly: '10' } }, limitsStore: { redis: { url: 'redis://redis:6379' } } });
    const children = desiredChildren(bare, options);
    const policy = children.objects.find((o) => o.kind === 'NetworkPolicy') as V1NetworkPolicy;
    expect(policy.spec!.egress!.flatMap((e) => e.ports ?? []).map((p) => p.port)).toContain(6379);
    const pod = (children.objects.find((o) => o.kind === 'Deployment') as V1Deployment).spec!.template.spec!;
    expect(pod.volumes!.map((v) => v.name)).not.toContain('attested-inference-limits-store');
    expect(configOf(children).limits.store.redis).toEqual({ url: 'redis://redis:6379', timeoutMs: 250, failurePolicy: 'FailOpen' });
  });
});
