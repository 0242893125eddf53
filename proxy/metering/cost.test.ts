import { describe, expect, it } from 'vitest';
import { costMicros, formatMicros, priceFor } from './cost.ts';
import type { ModelPrice, PriceTable, TokenUsage } from './types.ts';

const usage = (inputTokens: number, cachedInputTokens: number, outputTokens: number): TokenUsage => ({ inputTokens, cachedInputTokens, outputTokens });

describe('priceFor', () => {
  const small: ModelPrice = { inputPerMillion: 1, outputPerMillion: 2 };
  const fallback: ModelPrice = { inputPerMillion: 9, outputPerMillion: 9 };
  const table: PriceTable = { currency: 'USD', models: { small }, default: fallback };

  it('prefers the exact model, then the default', () => {
    expect(priceFor(table, 'small')).toBe(small);
    expect(priceFor(table, 'other')).toBe(fallback);
    expect(priceFor(table, undefined)).toBe(fallback);
  });

  it('returns undefined for an unpriced model without a default', () => {
    expect(priceFor({ currency: 'USD', models: { small } }, 'other')).toBeUndefined();
  });

  it('does not take prototype properties for models', () => {
    expect(priceFor({ currency: 'USD', models: {} }, 'constructor')).toBeUndefined();
    expect(priceFor(table, 'toString')).toBe(fallback);
  });
});

describe('costMicros', () => {
  // USD 0.15 / 1M input, 0.075 / 1M cached, 0.60 / 1M output.
  const price: ModelPrice = { inputPerMillion: 150_000, cachedInputPerMillion: 75_000, outputPerMillion: 600_000 };

  it('prices uncached, cached and output tokens separately', () => {
    // 1000 uncached × 0.15 + 1000 cached × 0.075 + 1000 × 0.60 per million = 150 + 75 + 600 micros.
    expect(costMicros(usage(2000, 1000, 1000), price)).toBe(825);
  });

  it('prices cached input at the input price when no cached price is set', () => {
    expect(costMicros(usage(2000, 1000, 0), { inputPerMillion: 150_000, outputPerMillion: 0 })).toBe(300);
  });

  it('rounds up once per request, never down', () => {
    expect(costMicros(usage(1, 0, 0), { inputPerMillion: 1, outputPerMillion: 0 })).toBe(1);
    expect(costMicros(usage(999_999, 0, 0), { inputPerMillion: 1, outputPerMillion: 0 })).toBe(1);
    expect(costMicros(usage(1_000_000, 0, 0), { inputPerMillion: 1, outputPerMillion: 0 })).toBe(1);
    expect(costMicros(usage(1_000_001, 0, 0), { inputPerMillion: 1, outputPerMillion: 0 })).toBe(2);
    // Three parts of a third of a micro each sum to exactly one micro: summed before rounding, not rounded per part.
    const third: ModelPrice = { inputPerMillion: 1, cachedInputPerMillion: 1, outputPerMillion: 1 };
    expect(costMicros(usage(666_666, 333_333, 333_334), third)).toBe(1);
    expect(costMicros(usage(666_667, 333_333, 333_334), third)).toBe(2);
  });

  it('is zero for zero tokens or a free model', () => {
    expect(costMicros(usage(0, 0, 0), price)).toBe(0);
    expect(costMicros(usage(10_000, 5000, 10_000), { inputPerMillion: 0, outputPerMillion: 0 })).toBe(0);
  });

  it('clamps cached tokens to the input tokens', () => {
    expect(costMicros(usage(1000, 5000, 0), price)).toBe(costMicros(usage(1000, 1000, 0), price));
  });

  it('stays exact where floating point would not', () => {
    // (1e9+1)² = 1 000 000 002 000 000 001: a micro-unit's millionth above a whole number, so it
    // rounds up to …2001. In floating point the product loses its last digit and rounds to …2000.
    const n = 1_000_000_001;
    expect(costMicros(usage(n, 0, 0), { inputPerMillion: n, outputPerMillion: 0 })).toBe(1_000_000_002_001);
    expect(Math.ceil((n * n) / 1_000_000)).toBe(1_000_000_002_000);
    // Large counts of every kind, against a BigInt reference.
    const big: ModelPrice = { inputPerMillion: 999_999_937, cachedInputPerMillion: 123_456_789, outputPerMillion: 1_000_000_007 };
    const [input, cached, output] = [9_007_199_254n, 4_503_599_627n, 3_333_333_333n];
    const expected = ((input - cached) * 999_999_937n + cached * 123_456_789n + output * 1_000_000_007n + 999_999n) / 1_000_000n;
    expect(BigInt(costMicros(usage(Number(input), Number(cached), Number(output)), big))).toBe(expected);
  });

  it('adds up exactly across many requests', () => {
    let total = 0;
    for (let i = 0; i < 10_000; i++) total += costMicros(usage(1234, 234, 567), price);
    expect(total).toBe(10_000 * costMicros(usage(1234, 234, 567), price));
    expect(costMicros(usage(1234, 234, 567), price)).toBe(508); // ceil((1000×150000 + 234×75000 + 567×600000) / 1e6) = ceil(507.75)
  });

  it('refuses counts and prices that are not non-negative safe integers', () => {
    expect(() => costMicros(usage(-1, 0, 0), price)).toThrow(RangeError);
    expect(() => costMicros(usage(1.5, 0, 0), price)).toThrow(RangeError);
    expect(() => costMicros(usage(1, 0, 0), { inputPerMillion: Number.NaN, outputPerMillion: 0 })).toThrow(RangeError);
    expect(() => costMicros(usage(2 ** 53, 0, 0), price)).toThrow(RangeError);
  });

  it('refuses a result beyond the exact range of a number', () => {
    const huge: ModelPrice = { inputPerMillion: Number.MAX_SAFE_INTEGER, outputPerMillion: 0 };
    expect(() => costMicros(usage(Number.MAX_SAFE_INTEGER, 0, 0), huge)).toThrow(RangeError);
  });
});

describe('formatMicros', () => {
  it('writes six decimals', () => {
    expect(formatMicros(123, 'USD')).toBe('USD 0.000123');
    expect(formatMicros(0, 'USD')).toBe('USD 0.000000');
    expect(formatMicros(1_500_000, 'EUR')).toBe('EUR 1.500000');
    expect(formatMicros(-1_500_001, 'EUR')).toBe('EUR -1.500001');
  });

  it('writes large and BigInt amounts exactly', () => {
    expect(formatMicros(Number.MAX_SAFE_INTEGER, 'USD')).toBe('USD 9007199254.740991');
    expect(formatMicros(123_456_789_012_345_678_901n, 'USD')).toBe('USD 123456789012345.678901');
  });

  it('refuses amounts that are not integers', () => {
    expect(() => formatMicros(0.5, 'USD')).toThrow(RangeError);
  });
});
