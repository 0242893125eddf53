import { costMicros } from '../metering/cost.ts';
import type { ModelPrice, TokenUsage } from '../metering/types.ts';
import type { TokenEstimate } from './estimate.ts';
import type { ChargedUsage } from './types.ts';

/** EstimatedReason says why a request was charged its estimate instead of its usage. */
export type EstimatedReason = 'disconnected' | 'incomplete' | 'no_usage';

/** Settlement is what a finished request is charged, and on what basis. */
export interface Settlement {
  /** basis: the usage the upstream reported, the estimate (usage unknown), or nothing (nothing was served). */
  readonly basis: 'usage' | 'estimate' | 'nothing';
  readonly reason?: EstimatedReason;
  readonly charged: ChargedUsage;
}

/** SettlementInput is what is known of a request when it ends; nothing in it is content. */
export interface SettlementInput {
  readonly estimate: TokenEstimate;
  readonly price: ModelPrice | undefined;
  readonly usage: TokenUsage | undefined;
  /** answered says the upstream answered (its status is `status`); false when it was never reached or never answered. */
  readonly answered: boolean;
  readonly status: number;
  /** aborted says the caller left before its answer ended. */
  readonly aborted: boolean;
  /** incomplete says the answer was found short (its body failed). */
  readonly incomplete: boolean;
  /** contentEvents counts the output events that passed, about a token each. */
  readonly contentEvents: number;
}

/** chargeFor prices a token count: the tokens, and their cost when the model is priced. */
export function chargeFor(usage: TokenUsage, price: ModelPrice | undefined): ChargedUsage {
  const tokens = usage.inputTokens + usage.outputTokens;
  return price === undefined ? { tokens } : { tokens, costMicros: costMicros(usage, price) };
}

function estimateUsage(estimate: TokenEstimate): TokenUsage {
  return { inputTokens: estimate.inputTokens, cachedInputTokens: 0, outputTokens: estimate.outputTokens };
}

function larger(a: ChargedUsage, b: ChargedUsage): ChargedUsage {
  const costMicros = a.costMicros === undefined && b.costMicros === undefined ? undefined : Math.max(a.costMicros ?? 0, b.costMicros ?? 0);
  return { tokens: Math.max(a.tokens, b.tokens), ...(costMicros === undefined ? {} : { costMicros }) };
}

/**
 * settlementFor decides what a request is charged when it ends, replacing what it reserved:
 * - an answer that ended whole with its usage is charged that usage, exactly;
 * - a successful answer whose usage never came (the caller left, the stream was cut, the upstream
 *   sent none) is charged its estimate, or what passed if larger (the usage seen so far, else the
 *   prompt estimate plus one token per output event): leaving early must not be cheaper than staying;
 * - a caller that left after the request went upstream is charged the same way: the upstream may
 *   have done the work;
 * - an upstream error answer is charged its usage if it reported one, else nothing, and a request
 *   that never reached the upstream (refused, unverified, unreachable) nothing.
 */
export function settlementFor(i: SettlementInput): Settlement {
  if (i.usage !== undefined && !i.aborted && !i.incomplete) return { basis: 'usage', charged: chargeFor(i.usage, i.price) };
  return served(i) ? estimated(i) : unserved(i);
}

/** served says the request may have been worked on: a successful answer, or a caller that left before any answer. */
function served(i: SettlementInput): boolean {
  if (!i.answered) return i.aborted;
  return i.status >= 200 && i.status < 300;
}

/** unserved charges an error answer its reported usage, else nothing. */
function unserved(i: SettlementInput): Settlement {
  if (i.usage !== undefined) return { basis: 'usage', charged: chargeFor(i.usage, i.price) };
  return { basis: 'nothing', charged: { tokens: 0, ...(i.price ? { costMicros: 0 } : {}) } };
}

/** estimated charges the larger of the estimate and what passed (the usage seen, else the prompt estimate and one token per output event). */
function estimated(i: SettlementInput): Settlement {
  const seen = i.usage ?? { inputTokens: i.estimate.inputTokens, cachedInputTokens: 0, outputTokens: i.contentEvents };
  const reason: EstimatedReason = i.incomplete ? 'incomplete' : i.aborted ? 'disconnected' : 'no_usage';
  return { basis: 'estimate', reason, charged: larger(chargeFor(estimateUsage(i.estimate), i.price), chargeFor(seen, i.price)) };
}
