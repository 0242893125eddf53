/** Small statistics over samples, in the unit they were taken in. */

/** percentile is the nearest-rank percentile `p` (0–100) of `samples`; NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** median is the 50th percentile. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** medianBy picks the median of one field over repeats, ignoring missing values. */
export function medianBy<T>(repeats: readonly T[], field: (r: T) => number | undefined): number | undefined {
  const values = repeats.map(field).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return values.length === 0 ? undefined : median(values);
}
