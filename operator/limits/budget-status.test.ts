import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { budgetEvents, budgetWindows, decimal, microsOf, namespaceBudgets } from './budget-status.ts';

const NOW = Date.UTC(2026, 10, 28, 7, 30);
const spec = endpoint('b', {
  provider: 'tinfoil',
  apiKeySecretRef: { name: 'k' },
  budgets: { perCaller: { daily: '1' }, namespace: { daily: '10', monthly: '250.5' } },
  limitsStore: { redis: { url: 'redis://redis:6379' } },
}).spec;

describe('namespace budget status', () => {
  it('lists the namespace windows in micro-units, and none without a limits store', () => {
    expect(namespaceBudgets(spec)).toEqual([{ window: 'day', micros: 10_000_000 }, { window: 'month', micros: 250_500_000 }]);
    expect(namespaceBudgets({ ...spec, limitsStore: undefined })).toEqual([]);
  });

  it('writes amounts with six decimals and reads them back exactly', () => {
    expect([decimal(0), decimal(1), decimal(1_500_250_000)]).toEqual(['0.000000', '0.000001', '1500.250000']);
    expect(microsOf('1500.250000')).toBe(1_500_250_000);
    expect(microsOf(decimal(9_007_199_254))).toBe(9_007_199_254);
  });

  it('reports spend, percentage and the next UTC reset per window', () => {
    expect(budgetWindows(namespaceBudgets(spec), { day: 8_000_000 }, NOW)).toEqual([
      { window: 'day', budget: '10.000000', spent: '8.000000', percentUsed: 80, resetsAt: '2026-11-29T00:00:00Z' },
      { window: 'month', budget: '250.500000', spent: '0.000000', percentUsed: 0, resetsAt: '2026-12-01T00:00:00Z' },
    ]);
    expect(budgetWindows([{ window: 'day', micros: 0 }], {}, NOW)).toEqual([{ window: 'day', budget: '0.000000', spent: '0.000000', resetsAt: '2026-11-29T00:00:00Z' }]);
  });

  it('records each threshold once, when the spend last written was below it', () => {
    const at = (spent: number): ReturnType<typeof budgetWindows> => budgetWindows([{ window: 'day', micros: 10_000_000 }], { day: spent }, NOW);
    expect(budgetEvents(at(7_000_000), at(7_999_999), 'USD')).toEqual([]);
    expect(budgetEvents(at(7_999_999), at(8_000_000), 'USD')).toEqual([
      { type: 'Warning', reason: 'BudgetAlmostSpent', message: 'The namespace has spent USD 8.000000 of its daily budget of USD 10.000000 (80 % or more); it resets at 2026-11-29T00:00:00Z.' },
    ]);
    expect(budgetEvents(at(8_000_000), at(9_000_000), 'USD')).toEqual([]);
    expect(budgetEvents(at(9_000_000), at(10_000_150), 'USD')).toEqual([
      { type: 'Warning', reason: 'BudgetExhausted', message: 'The namespace has spent USD 10.000150 of its daily budget of USD 10.000000; requests are refused with insufficient_quota until 2026-11-29T00:00:00Z.' },
    ]);
    expect(budgetEvents(undefined, at(12_000_000), 'USD').map((e) => e.reason)).toEqual(['BudgetExhausted']); // first sight: once, the highest
    expect(budgetEvents(at(12_000_000), at(12_000_000), 'USD')).toEqual([]);
  });

  it('counts a new window from zero', () => {
    const yesterday = budgetWindows([{ window: 'day', micros: 10 }], { day: 10 }, NOW - 86_400_000);
    const today = budgetWindows([{ window: 'day', micros: 10 }], { day: 9 }, NOW);
    expect(budgetEvents(yesterday, today, 'EUR').map((e) => e.reason)).toEqual(['BudgetAlmostSpent']);
  });
});
