import { THRESHOLDS, windowAt } from '../../proxy/limits/budgets.ts';
import type { BudgetWindow } from '../../proxy/limits/types.ts';
import { priceMicros } from '../api/v1alpha1/values.ts';
import type { BudgetWindowStatus, InferenceEndpointSpec } from '../api/v1alpha1/types.ts';

/** NamespaceBudget is one declared window of spec.budgets.namespace, in micro-units. */
export interface NamespaceBudget {
  readonly window: BudgetWindow;
  readonly micros: number;
}

/** namespaceBudgets lists the namespace windows an endpoint declares and can read (it names a limits store). */
export function namespaceBudgets(spec: InferenceEndpointSpec): NamespaceBudget[] {
  const declared = spec.budgets?.namespace;
  if (declared === undefined || spec.limitsStore === undefined) return [];
  return [
    ...(declared.daily === undefined ? [] : [{ window: 'day' as const, micros: priceMicros(declared.daily) }]),
    ...(declared.monthly === undefined ? [] : [{ window: 'month' as const, micros: priceMicros(declared.monthly) }]),
  ];
}

/** decimal writes a non-negative amount of micro-units with all six decimals: 1500250000 → "1500.250000". */
export function decimal(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  return `${String(whole)}.${String(micros - whole * 1_000_000).padStart(6, '0')}`;
}

/** microsOf reads a decimal written by `decimal` back into micro-units, exactly. */
export function microsOf(text: string): number {
  const [whole = '0', fraction = ''] = text.split('.');
  return Number(whole) * 1_000_000 + Number(fraction.padEnd(6, '0'));
}

/** budgetWindows is `status.budgets`: each declared window with its spend so far and when it resets. */
export function budgetWindows(budgets: readonly NamespaceBudget[], spent: Partial<Record<BudgetWindow, number>>, nowMs: number): BudgetWindowStatus[] {
  return budgets.map((b) => {
    const used = spent[b.window] ?? 0;
    return {
      window: b.window,
      budget: decimal(b.micros),
      spent: decimal(used),
      ...(b.micros > 0 ? { percentUsed: Math.floor((used * 100) / b.micros) } : {}),
      resetsAt: new Date(windowAt(b.window, nowMs).endMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  });
}

/** BudgetEvent is an Event to record on the endpoint. */
export interface BudgetEvent {
  readonly type: 'Warning';
  readonly reason: 'BudgetAlmostSpent' | 'BudgetExhausted';
  readonly message: string;
}

const WINDOW_WORD = { day: 'daily', month: 'monthly' } as const;

/**
 * budgetEvents are the thresholds (80 % and 100 %) each window crossed between the status the
 * operator wrote last and the one it writes now. A window that reset starts again from zero; a
 * window seen for the first time counts from zero too, so an operator that starts late still
 * reports a budget that is already spent, once, and a restart reports nothing twice (the status
 * it compares with is stored in the API server).
 */
export function budgetEvents(previous: readonly BudgetWindowStatus[] | undefined, next: readonly BudgetWindowStatus[], currency: string): BudgetEvent[] {
  return next.flatMap((w) => {
    const before = previous?.find((p) => p.window === w.window && p.resetsAt === w.resetsAt);
    const budget = microsOf(w.budget);
    const from = before === undefined ? 0 : microsOf(before.spent);
    const to = microsOf(w.spent);
    const crossed = THRESHOLDS.filter((t) => from * 100 < budget * t && to * 100 >= budget * t);
    const top = crossed.at(-1);
    if (top === undefined) return [];
    const what = `The namespace has spent ${currency} ${w.spent} of its ${WINDOW_WORD[w.window]} budget of ${currency} ${w.budget}`;
    return [top === 100
      ? { type: 'Warning' as const, reason: 'BudgetExhausted' as const, message: `${what}; requests are refused with insufficient_quota until ${w.resetsAt}.` }
      : { type: 'Warning' as const, reason: 'BudgetAlmostSpent' as const, message: `${what} (${String(top)} % or more); it resets at ${w.resetsAt}.` }];
  });
}

/** BUDGET_REPORT_CADENCE_MS is how often a spend that moved by less than a step is still written (ten minutes). */
export const BUDGET_REPORT_CADENCE_MS = 10 * 60_000;

/**
 * meaningfulChange says whether `next` must replace the windows last written: a window appeared,
 * went or reset, its budget changed, or its spend moved by a whole percent of the budget (every
 * 80 % and 100 % threshold crossing is such a step, so no budget Event is late).
 */
export function meaningfulChange(previous: readonly BudgetWindowStatus[] | undefined, next: readonly BudgetWindowStatus[]): boolean {
  if (previous === undefined || previous.length !== next.length) return true;
  return next.some((w) => {
    const before = previous.find((p) => p.window === w.window);
    return before === undefined || before.resetsAt !== w.resetsAt || before.budget !== w.budget || before.percentUsed !== w.percentUsed;
  });
}

/**
 * BudgetReports decides which budget windows go into an endpoint's status (ADR 0007): the windows
 * just read when they changed meaningfully, or when the spend moved at all and the windows were
 * last written BUDGET_REPORT_CADENCE_MS ago; otherwise the windows as last written, so the status
 * is unchanged and not written. Every endpoint of a namespace reports the namespace's budget, so
 * writing each one on every poll while the spend creeps up would be a steady write load for
 * nothing a reader needs. It remembers, per endpoint, when it last reported new windows; after a
 * restart the first changed spend is written once.
 */
export class BudgetReports {
  readonly #reportedAt = new Map<string, number>();
  readonly #cadenceMs: number;

  constructor(cadenceMs = BUDGET_REPORT_CADENCE_MS) {
    this.#cadenceMs = cadenceMs;
  }

  /** report is the windows to put in the status of the endpoint `key`, given those written and those just read. */
  report(key: string, written: readonly BudgetWindowStatus[] | undefined, read: readonly BudgetWindowStatus[], nowMs: number): readonly BudgetWindowStatus[] {
    const last = this.#reportedAt.get(key);
    const moved = written === undefined || written.some((w, i) => w.spent !== read[i]?.spent);
    const due = moved && (last === undefined || nowMs - last >= this.#cadenceMs);
    if (written !== undefined && !meaningfulChange(written, read) && !due) return written;
    this.#reportedAt.set(key, nowMs);
    return read;
  }

  /** forget drops what is remembered for an endpoint that is gone. */
  forget(key: string): void {
    this.#reportedAt.delete(key);
  }
}
