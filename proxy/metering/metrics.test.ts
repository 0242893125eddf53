import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createProxyMetrics, modelLabel, OTHER_MODEL, recordUsage, setAttestationInfo, UNKNOWN_MODEL, type ProxyMetrics } from './metrics.ts';

interface Described {
  readonly type: string;
  readonly labels: readonly string[];
}

/** registered lists each metric on the registry with its type and label names. */
const registered = (registry: Registry): Map<string, Described> => {
  const result = new Map<string, Described>();
  for (const metric of registry.getMetricsAsArray()) {
    const type = metric instanceof Counter ? 'counter' : metric instanceof Gauge ? 'gauge' : metric instanceof Histogram ? 'histogram' : 'other';
    const labels = (metric as unknown as { labelNames: readonly string[] }).labelNames;
    result.set(metric.name, { type, labels: [...labels].sort() });
  }
  return result;
};

/** documented reads the metric tables of docs/metrics.md: | `name` | type | `label`, … | meaning |. */
const documented = (): Map<string, Described> => {
  const text = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const result = new Map<string, Described>();
  for (const match of text.matchAll(/^\| `([a-z_:]+)` \| (\w+) \| ([^|]*) \|/gm)) {
    const [, name = '', type = '', labelCell = ''] = match;
    const labels = [...labelCell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? '').sort();
    result.set(name, { type, labels });
  }
  return result;
};

const fresh = (): { registry: Registry; metrics: ProxyMetrics } => {
  const registry = new Registry();
  return { registry, metrics: createProxyMetrics(registry) };
};

const valueOf = async (metric: Counter | Gauge, labels: Record<string, string>): Promise<number | undefined> =>
  (await metric.get()).values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value;

describe('createProxyMetrics', () => {
  it('registers on the given registry only, and twice without collision', () => {
    const before = globalRegistry.getMetricsAsArray().length;
    const a = fresh();
    const b = fresh();
    expect(globalRegistry.getMetricsAsArray()).toHaveLength(before);
    expect(a.registry.getMetricsAsArray()).toHaveLength(b.registry.getMetricsAsArray().length);
    expect(a.registry.getSingleMetric('attested_inference_requests_total')).toBe(a.metrics.requests);
  });

  it('uses no label Prometheus adds from the target', () => {
    for (const [name, { labels }] of registered(fresh().registry)) {
      for (const banned of ['namespace', 'pod', 'service', 'job', 'instance']) expect(labels, name).not.toContain(banned);
    }
  });

  it('has exactly the metrics, types and labels docs/metrics.md documents', () => {
    const code = registered(fresh().registry);
    const docs = documented();
    expect([...docs.keys()].sort()).toEqual([...code.keys()].sort());
    for (const [name, described] of code) expect(docs.get(name), name).toEqual(described);
  });

  it('buckets token counts in powers of four up to 4M', async () => {
    const { metrics } = fresh();
    metrics.tokenUsage.observe({ route: 'embeddings', model: 'm', token_type: 'input' }, 1);
    const bounds = (await metrics.tokenUsage.get()).values.map((v) => (v.labels as Record<string, unknown>).le).filter((le) => le !== undefined && le !== '+Inf');
    expect(bounds[0]).toBe(1);
    expect(bounds.at(-1)).toBe(4_194_304);
  });
});

describe('recordUsage', () => {
  const base = { route: 'chat/completions', model: 'm', caller: 'serviceaccount:apps/web', callerNamespace: 'apps', currency: 'USD' } as const;

  it('adds disjoint token types, cost, and histogram observations', async () => {
    const { metrics } = fresh();
    recordUsage(metrics, { ...base, usage: { inputTokens: 100, cachedInputTokens: 60, outputTokens: 7 }, costMicros: 42 });
    recordUsage(metrics, { ...base, usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 3 }, costMicros: 8 });
    const who = { caller: base.caller, caller_namespace: 'apps' };
    expect(await valueOf(metrics.tokens, { ...who, token_type: 'input' })).toBe(40 + 10);
    expect(await valueOf(metrics.tokens, { ...who, token_type: 'cached_input' })).toBe(60);
    expect(await valueOf(metrics.tokens, { ...who, token_type: 'output' })).toBe(10);
    expect(await valueOf(metrics.costMicros, { ...who, model: 'm', currency: 'USD' })).toBe(50);
    const histogram = (await metrics.tokenUsage.get()).values;
    const count = (type: string): number | undefined =>
      histogram.find((v) => v.metricName === 'gen_ai_client_token_usage_count' && v.labels.token_type === type)?.value;
    expect(count('input')).toBe(2);
    expect(count('cached_input')).toBe(1); // the second request had no cache hit: not observed
    expect(count('output')).toBe(2);
  });

  it('skips zero counts and an unpriced cost', async () => {
    const { metrics } = fresh();
    recordUsage(metrics, { ...base, route: 'embeddings', usage: { inputTokens: 5, cachedInputTokens: 0, outputTokens: 0 }, costMicros: undefined });
    expect(await valueOf(metrics.tokens, { token_type: 'output' })).toBeUndefined();
    expect((await metrics.costMicros.get()).values).toEqual([]);
    const outputs = (await metrics.tokenUsage.get()).values.filter((v) => v.labels.token_type === 'output');
    expect(outputs).toEqual([]);
  });
});

describe('setAttestationInfo', () => {
  it('keeps only the current attestation series', async () => {
    const { metrics } = fresh();
    setAttestationInfo(metrics, { trust: 'Verified', releaseDigest: 'a'.repeat(64), measurementFingerprint: 'f1' });
    setAttestationInfo(metrics, { trust: 'Verified', releaseDigest: 'b'.repeat(64), measurementFingerprint: 'f2' });
    const values = (await metrics.attestationInfo.get()).values;
    expect(values).toEqual([{ value: 1, labels: { trust: 'Verified', release_digest: 'b'.repeat(64), measurement_fingerprint: 'f2' } }]);
    setAttestationInfo(metrics, undefined);
    expect((await metrics.attestationInfo.get()).values).toEqual([]);
  });
});

describe('modelLabel', () => {
  const vouched = { allowed: [] as string[], priced: { priced: {} } };

  it('keeps allow-listed names with an allow-list, priced names without one, and labels every other name other', () => {
    expect(modelLabel('priced', vouched)).toBe('priced');
    expect(modelLabel('chosen-by-a-caller', vouched)).toBe(OTHER_MODEL);
    expect(modelLabel('toString', vouched)).toBe(OTHER_MODEL);
    expect(modelLabel('allowed', { ...vouched, allowed: ['allowed'] })).toBe('allowed');
    expect(modelLabel('priced', { ...vouched, allowed: ['allowed'] })).toBe(OTHER_MODEL);
    expect(modelLabel(undefined, vouched)).toBe(UNKNOWN_MODEL);
    expect(modelLabel('', vouched)).toBe(UNKNOWN_MODEL);
  });

  it('is the rule docs/metrics.md states', () => {
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    expect(doc).toContain(`every other name is \`${OTHER_MODEL}\``);
    expect(doc).toContain(`else \`${UNKNOWN_MODEL}\``);
    expect(doc).toContain('`models.allowed`');
    expect(doc).toContain('`prices.models`');
  });
});
