import { describe, expect, it } from 'vitest';
import {
  TINFOIL_REQUEST_USAGE_HEADER,
  TINFOIL_REQUEST_USAGE_VALUE,
  TINFOIL_USAGE_HEADER,
  parseTinfoilUsage,
  tinfoilUsageFrom,
} from './tinfoil-usage.ts';

describe('parseTinfoilUsage', () => {
  it('reads the basic report', () => {
    expect(parseTinfoilUsage('prompt=67,completion=42,total=109')).toEqual({ inputTokens: 67, cachedInputTokens: 0, outputTokens: 42 });
  });

  it('reads cached tokens, model and cost in any order, with spaces', () => {
    const value = ' model=gpt-oss-120b , cost_usd=0.000123,cached_prompt_tokens=64, total=142, uncached_prompt_tokens=36,completion=42,prompt=100 ';
    expect(parseTinfoilUsage(value)).toEqual({ inputTokens: 100, cachedInputTokens: 64, outputTokens: 42, model: 'gpt-oss-120b', costUsd: '0.000123' });
  });

  it('ignores unknown fields and empty parts', () => {
    expect(parseTinfoilUsage('prompt=1,completion=2,total=3,reasoning=9,region=eu,')).toEqual({ inputTokens: 1, cachedInputTokens: 0, outputTokens: 2 });
  });

  it('takes the last of repeated header values', () => {
    expect(parseTinfoilUsage(['prompt=1,completion=1', 'prompt=5,completion=6'])?.inputTokens).toBe(5);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['an empty list', []],
    ['missing prompt', 'completion=2,total=2'],
    ['missing completion', 'prompt=2,total=2'],
    ['a part without =', 'prompt=1,completion=2,garbage'],
    ['a negative count', 'prompt=-1,completion=2'],
    ['a fractional count', 'prompt=1.5,completion=2'],
    ['a hex count', 'prompt=0x10,completion=2'],
    ['an empty count', 'prompt=,completion=2'],
    ['a count beyond 2^53', 'prompt=99999999999999999,completion=2'],
    ['a non-numeric total', 'prompt=1,completion=2,total=three'],
    ['a repeated field', 'prompt=1,prompt=2,completion=2'],
    ['more cached than prompt tokens', 'prompt=10,completion=2,cached_prompt_tokens=11'],
    ['more uncached than prompt tokens', 'prompt=10,completion=2,uncached_prompt_tokens=11'],
    ['an empty model', 'prompt=1,completion=2,model='],
    ['a cost in exponent form', 'prompt=1,completion=2,cost_usd=1e-6'],
    ['a negative cost', 'prompt=1,completion=2,cost_usd=-0.1'],
    ['JSON', '{"prompt":1,"completion":2}'],
  ] as const)('returns undefined for %s', (_name, value) => {
    expect(parseTinfoilUsage(value)).toBeUndefined();
  });
});

describe('tinfoilUsageFrom', () => {
  it('prefers the first bag with a valid report, looked up by the lower-cased name', () => {
    const trailers = { 'x-tinfoil-usage-metrics': 'prompt=3,completion=5,total=8' };
    const headers = { 'x-tinfoil-usage-metrics': 'prompt=1,completion=1,total=2', 'content-type': 'text/event-stream' };
    expect(tinfoilUsageFrom(trailers, headers)?.outputTokens).toBe(5);
    expect(tinfoilUsageFrom(undefined, headers)?.outputTokens).toBe(1);
    expect(tinfoilUsageFrom({ 'x-tinfoil-usage-metrics': 'bad' }, headers)?.outputTokens).toBe(1);
    expect(tinfoilUsageFrom({}, {})).toBeUndefined();
  });

  it('exports the header names', () => {
    expect(TINFOIL_REQUEST_USAGE_HEADER).toBe('X-Tinfoil-Request-Usage-Metrics');
    expect(TINFOIL_REQUEST_USAGE_VALUE).toBe('true');
    expect(TINFOIL_USAGE_HEADER).toBe('X-Tinfoil-Usage-Metrics');
  });
});
