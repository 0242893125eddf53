import { describe, expect, it } from 'vitest';
import type { BudgetWindowStatus } from '../api/v1alpha1/types.ts';
import { BUDGET_REPORT_CADENCE_MS, BudgetReports, meaningfulChange } from './budget-status.ts';

const day = (spent: string, percentUsed: number, resetsAt = '2026-12-08T00:00:00Z'): BudgetWindowStatus => ({ window: 'day', budget: '1.000000', spent, percentUsed, resetsAt });

describe('meaningfulChange', () => {
  it('is a whole percent of spend, a reset, a new budget or a window that came or went', () => {
    expect(meaningfulChange([day('0.001000', 0)], [day('0.009000', 0)])).toBe(false);
    expect(meaningfulChange([day('0.009000', 0)], [day('0.010000', 1)])).toBe(true);
    expect(meaningfulChange([day('0.500000', 50)], [day('0.000000', 0, '2026-12-09T00:00:00Z')])).toBe(true);
    expect(meaningfulChange([day('0.001000', 0)], [{ ...day('0.001000', 0), budget: '2.000000' }])).toBe(true);
    expect(meaningfulChange(undefined, [day('0.001000', 0)])).toBe(true);
    expect(meaningfulChange([day('0.001000', 0)], [])).toBe(true);
  });

  it('catches every 80 % and 100 % crossing, so budget Events are never late', () => {
    expect(meaningfulChange([day('0.799999', 79)], [day('0.800000', 80)])).toBe(true);
    expect(meaningfulChange([day('0.999999', 99)], [day('1.000000', 100)])).toBe(true);
  });
});

describe('BudgetReports', () => {
  it('keeps the windows written while the spend creeps, and writes it at the slow cadence', () => {
    const reports = new BudgetReports();
    const first = reports.report('ns/a', undefined, [day('0.001000', 0)], 0);
    expect(first).toEqual([day('0.001000', 0)]);
    expect(reports.report('ns/a', first, [day('0.002000', 0)], 60_000)).toBe(first);
    expect(reports.report('ns/a', first, [day('0.003000', 0)], BUDGET_REPORT_CADENCE_MS)).toEqual([day('0.003000', 0)]);
  });

  it('writes a whole-percent step at once', () => {
    const reports = new BudgetReports();
    const first = reports.report('ns/a', undefined, [day('0.001000', 0)], 0);
    expect(reports.report('ns/a', first, [day('0.011000', 1)], 1000)).toEqual([day('0.011000', 1)]);
  });

  it('writes the first change after a restart (nothing remembered), and nothing when nothing moved', () => {
    const written = [day('0.001000', 0)];
    expect(new BudgetReports().report('ns/a', written, [day('0.001500', 0)], 5)).toEqual([day('0.001500', 0)]);
    expect(new BudgetReports().report('ns/a', written, [day('0.001000', 0)], 5)).toBe(written);
  });
});
