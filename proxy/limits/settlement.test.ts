import { describe, expect, it } from 'vitest';
import { settlementFor, type SettlementInput } from './settlement.ts';

const price = { inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 }; // 1 and 2 micro-units a token
const base: SettlementInput = {
  estimate: { inputTokens: 100, outputTokens: 50 }, // 150 tokens, 200 micro-units
  price,
  usage: undefined,
  answered: true,
  status: 200,
  aborted: false,
  incomplete: false,
  contentEvents: 0,
};
const usage = { inputTokens: 80, cachedInputTokens: 0, outputTokens: 20 }; // 100 tokens, 120 micro-units

describe('settlementFor', () => {
  it('charges a whole answer its usage, below or above the estimate', () => {
    expect(settlementFor({ ...base, usage })).toEqual({ basis: 'usage', charged: { tokens: 100, costMicros: 120 } });
    expect(settlementFor({ ...base, usage: { ...usage, outputTokens: 500 } })).toEqual({ basis: 'usage', charged: { tokens: 580, costMicros: 1080 } });
  });

  it('charges its estimate when the caller leaves, the answer is cut or carries no usage', () => {
    expect(settlementFor({ ...base, aborted: true })).toEqual({ basis: 'estimate', reason: 'disconnected', charged: { tokens: 150, costMicros: 200 } });
    expect(settlementFor({ ...base, incomplete: true })).toMatchObject({ basis: 'estimate', reason: 'incomplete', charged: { tokens: 150 } });
    expect(settlementFor({ ...base })).toMatchObject({ basis: 'estimate', reason: 'no_usage', charged: { tokens: 150 } });
    // A caller that left before the upstream answered is charged too: the upstream may have done the work.
    expect(settlementFor({ ...base, answered: false, status: 200, aborted: true })).toMatchObject({ basis: 'estimate', reason: 'disconnected' });
  });

  it('charges what passed when it exceeds the estimate: the usage seen, else one token per output event', () => {
    expect(settlementFor({ ...base, aborted: true, contentEvents: 300 })).toEqual({ basis: 'estimate', reason: 'disconnected', charged: { tokens: 400, costMicros: 700 } });
    expect(settlementFor({ ...base, incomplete: true, usage: { ...usage, outputTokens: 900 } })).toEqual({ basis: 'estimate', reason: 'incomplete', charged: { tokens: 980, costMicros: 1880 } });
  });

  it('charges nothing for a request the upstream refused or never received, unless it reported usage', () => {
    expect(settlementFor({ ...base, status: 429 })).toEqual({ basis: 'nothing', charged: { tokens: 0, costMicros: 0 } });
    expect(settlementFor({ ...base, answered: false, status: 503 })).toEqual({ basis: 'nothing', charged: { tokens: 0, costMicros: 0 } });
    expect(settlementFor({ ...base, status: 400, usage })).toEqual({ basis: 'usage', charged: { tokens: 100, costMicros: 120 } });
    expect(settlementFor({ ...base, status: 500, aborted: true })).toMatchObject({ basis: 'nothing' });
  });

  it('charges tokens only for an unpriced model', () => {
    expect(settlementFor({ ...base, price: undefined, aborted: true })).toEqual({ basis: 'estimate', reason: 'disconnected', charged: { tokens: 150 } });
    expect(settlementFor({ ...base, price: undefined, status: 503 })).toEqual({ basis: 'nothing', charged: { tokens: 0 } });
  });
});
