import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { CONFIG_API_VERSION } from '../config/schema.ts';
import { createProxyMetrics } from '../metering/metrics.ts';
import { createLimits } from './create.ts';

const silent = { info: (): void => undefined, warn: (): void => undefined };

async function gauges(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of ['attested_inference_budget_spent_micros', 'attested_inference_budget_remaining_micros']) {
    const metric = registry.getSingleMetric(name);
    for (const v of (await metric?.get())?.values ?? []) out[`${name.slice('attested_inference_budget_'.length)}|${String(v.labels.window)}`] = v.value;
  }
  return out;
}

describe('limits: the namespace budget gauges', () => {
  it('start a new window from nothing at its UTC reset, even with no request since, and keep the window that has not ended', async () => {
    const clock = { now: Date.parse('2026-11-28T23:59:00.000Z') };
    const registry = new Registry();
    const config = parseConfig({
      apiVersion: CONFIG_API_VERSION,
      provider: { type: 'tinfoil' },
      limits: { budgets: { namespace: { dailyMicros: 1000, monthlyMicros: 10_000 } } },
    });
    const limits = await createLimits(config, { now: () => clock.now, metrics: createProxyMetrics(registry), logger: silent });
    expect((await limits.limiter.admit('a')).allowed).toBe(true);
    await limits.limiter.charge('a', { tokens: 10, costMicros: 950 });
    expect(await gauges(registry)).toEqual({ 'spent_micros|day': 950, 'spent_micros|month': 950, 'remaining_micros|day': 50, 'remaining_micros|month': 9050 });

    clock.now = Date.parse('2026-11-29T00:00:00.000Z');
    expect(await gauges(registry)).toEqual({ 'spent_micros|day': 0, 'spent_micros|month': 950, 'remaining_micros|day': 1000, 'remaining_micros|month': 9050 });
    const day = limits.status().budgets.find((b) => b.window === 'day');
    expect(day).toMatchObject({ spentMicros: 0, budgetMicros: 1000, resetAt: '2026-11-30T00:00:00.000Z' });

    // The next charge lands in the new day, and in the same month.
    clock.now = Date.parse('2026-11-29T00:00:01.000Z');
    await limits.limiter.charge('a', { tokens: 10, costMicros: 30 });
    expect(await gauges(registry)).toEqual({ 'spent_micros|day': 30, 'spent_micros|month': 980, 'remaining_micros|day': 970, 'remaining_micros|month': 9020 });
    await limits.close();
  });
});
