import { describe, expect, it } from 'vitest';
import { histogramQuantile, parseSamples, sumOf } from './prom-text.ts';

const TEXT = `# HELP d Reconcile time.
# TYPE d histogram
d_bucket{controller="a",le="0.1"} 50
d_bucket{controller="a",le="0.5"} 90
d_bucket{controller="a",le="1"} 100
d_bucket{controller="a",le="+Inf"} 100
d_bucket{controller="b",le="0.1"} 0
d_bucket{controller="b",le="+Inf"} 0
t{controller="a",result="success"} 7
t{controller="a",result="error"} 2
t{controller="b",result="success"} 1
`;

describe('Prometheus text', () => {
  const samples = parseSamples(TEXT);

  it('reads samples with their labels and skips comments', () => {
    expect(samples).toHaveLength(9);
    expect(samples[0]).toEqual({ name: 'd_bucket', labels: { controller: 'a', le: '0.1' }, value: 50 });
  });

  it('sums the samples that match the labels given', () => {
    expect(sumOf(samples, 't', { controller: 'a' })).toBe(9);
    expect(sumOf(samples, 't')).toBe(10);
  });

  it('interpolates quantiles inside the bucket that holds the rank, as histogram_quantile does', () => {
    expect(histogramQuantile(samples, 'd', 0.5, { controller: 'a' })).toBeCloseTo(0.1);
    expect(histogramQuantile(samples, 'd', 0.7, { controller: 'a' })).toBeCloseTo(0.3);
    expect(histogramQuantile(samples, 'd', 0.99, { controller: 'a' })).toBeCloseTo(0.95);
    expect(histogramQuantile(samples, 'd', 0.5, { controller: 'b' })).toBeUndefined();
  });
});
