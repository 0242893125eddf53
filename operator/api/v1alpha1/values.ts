import { DURATION_PATTERN, PRICE_PATTERN } from './patterns.ts';
import { TINFOIL_UPSTREAM_URL, type InferenceEndpointSpec } from './types.ts';

// The operator renders the proxy's configuration from a spec the API server has already validated
// against the same patterns, so a value that fails here is a bug, reported with the field's value.

const DURATION = new RegExp(DURATION_PATTERN, 'u');
const DURATION_PART = /([0-9]+)(?:\.([0-9]+))?(ns|us|µs|ms|s|m|h)/gu;
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const PRICE = new RegExp(PRICE_PATTERN, 'u');

/** durationSeconds converts a Go duration such as `1h30m` (the CRD's DURATION_PATTERN) to whole seconds, rounding up. */
export function durationSeconds(text: string): number {
  if (!DURATION.test(text)) throw new RangeError(`not a duration: ${JSON.stringify(text)}`);
  // Integer nanoseconds, as Go's time.ParseDuration counts: 0.3h in floating point is not exact.
  let ns = 0n;
  for (const [, whole = '0', fraction = '', unit = ''] of text.matchAll(DURATION_PART)) {
    const scale = 10n ** BigInt(fraction.length);
    ns += ((BigInt(whole) * scale + BigInt(fraction || '0')) * (UNIT_NS[unit] ?? 0n)) / scale;
  }
  return Number((ns + 999_999_999n) / 1_000_000_000n);
}

/** priceMicros converts a decimal price string (at most 6 decimals) to integer micro-units, exactly. */
export function priceMicros(text: string): number {
  if (!PRICE.test(text)) throw new RangeError(`not a price: ${JSON.stringify(text)}`);
  const [whole = '0', fraction = ''] = text.split('.');
  // String arithmetic, not Number(text) * 1e6: 0.29 * 1e6 is 289999.99999999994.
  return Number(whole) * 1_000_000 + Number(fraction.padEnd(6, '0'));
}

/** upstreamUrl is the URL the proxy sends requests to: spec.upstream.url, or Tinfoil's for a tinfoil endpoint without one. */
export function upstreamUrl(spec: Pick<InferenceEndpointSpec, 'provider' | 'upstream'>): string | undefined {
  return spec.upstream?.url ?? (spec.provider === 'tinfoil' ? TINFOIL_UPSTREAM_URL : undefined);
}
