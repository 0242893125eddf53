import { describe, expect, it } from 'vitest';
import { durationSeconds, priceMicros, upstreamUrl } from './values.ts';

describe('durationSeconds', () => {
  it.each([
    ['10s', 10],
    ['5m', 300],
    ['1h30m', 5400],
    ['0.3h', 1080],
    ['1.5s', 2],
    ['90000ms', 90],
    ['24h', 86_400],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(durationSeconds(text)).toBe(seconds);
  });

  it.each(['banana', '5', '-5m', '1d', ''])('refuses %j', (text) => {
    expect(() => durationSeconds(text)).toThrow(RangeError);
  });
});

describe('priceMicros', () => {
  it.each([
    ['0', 0],
    ['0.15', 150_000],
    ['0.29', 290_000],
    ['2.5', 2_500_000],
    ['0.000001', 1],
    ['999999999.999999', 999_999_999_999_999],
  ])('reads %s as %i micro-units', (text, micros) => {
    expect(priceMicros(text)).toBe(micros);
  });

  it.each(['1.2345678', '-1', '01', '1e3', '$1', '.5', ''])('refuses %j', (text) => {
    expect(() => priceMicros(text)).toThrow(RangeError);
  });
});

describe('upstreamUrl', () => {
  it('uses the spec, then Tinfoil\'s default for tinfoil only', () => {
    expect(upstreamUrl({ provider: 'tinfoil' })).toBe('https://inference.tinfoil.sh');
    expect(upstreamUrl({ provider: 'tinfoil', upstream: { url: 'http://127.0.0.1:8443' } })).toBe('http://127.0.0.1:8443');
    expect(upstreamUrl({ provider: 'openai-compatible' })).toBeUndefined();
  });
});
