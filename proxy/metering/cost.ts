import type { ModelPrice, PriceTable, TokenUsage } from './types.ts';

const MICROS_PER_UNIT = 1_000_000n;
const TOKENS_PER_PRICE_UNIT = 1_000_000n;

/** priceFor returns the table's price for `model`, else its `default`, else undefined (unpriced). */
export function priceFor(table: PriceTable, model: string | undefined): ModelPrice | undefined {
  if (model !== undefined && Object.hasOwn(table.models, model)) return table.models[model];
  return table.default;
}

/**
 * highestPrice is the dearest input and the dearest output price of the table (its default
 * included), undefined for an empty table: what a request for an unknown model (a client-sealed
 * body, whose model the proxy cannot read) may cost at most.
 */
export function highestPrice(table: PriceTable): ModelPrice | undefined {
  const prices = [...Object.values(table.models), ...(table.default ? [table.default] : [])];
  if (prices.length === 0) return undefined;
  return {
    inputPerMillion: Math.max(...prices.map((p) => Math.max(p.inputPerMillion, p.cachedInputPerMillion ?? 0))),
    outputPerMillion: Math.max(...prices.map((p) => p.outputPerMillion)),
  };
}

/**
 * modelPrice is the price of a request for `requested`, which may be an alias of `upstream`: the
 * alias's own price when the table names it, else the upstream model's (or the default).
 */
export function modelPrice(table: PriceTable, requested: string | undefined, upstream: string | undefined): ModelPrice | undefined {
  if (requested !== undefined && Object.hasOwn(table.models, requested)) return table.models[requested];
  return priceFor(table, upstream ?? requested);
}

/** exact turns a count or price into a BigInt, refusing anything but a non-negative safe integer. */
function exact(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
  return BigInt(value);
}

/**
 * costMicros is the price of one request in integer micro-units of the table's currency:
 * ceil((uncached input × inputPerMillion + cached input × (cachedInputPerMillion ?? inputPerMillion)
 * + output × outputPerMillion) / 1 000 000), where uncached input = input − cached (cached is
 * clamped to input). The sum is exact (BigInt) and rounded up once, per request, so a request is
 * never priced below what it consumed and a total is the exact sum of its requests' costs.
 * Counts and prices must be non-negative safe integers (RangeError otherwise, a programming error:
 * the parsers and the config schema guarantee them), as must the result (below USD 9 billion).
 */
export function costMicros(usage: TokenUsage, price: ModelPrice): number {
  const input = exact(usage.inputTokens, 'inputTokens');
  const cachedRaw = exact(usage.cachedInputTokens, 'cachedInputTokens');
  const cached = cachedRaw < input ? cachedRaw : input;
  const output = exact(usage.outputTokens, 'outputTokens');
  const inputPrice = exact(price.inputPerMillion, 'inputPerMillion');
  const cachedPrice = price.cachedInputPerMillion === undefined ? inputPrice : exact(price.cachedInputPerMillion, 'cachedInputPerMillion');
  const outputPrice = exact(price.outputPerMillion, 'outputPerMillion');
  const scaled = (input - cached) * inputPrice + cached * cachedPrice + output * outputPrice;
  const micros = (scaled + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT;
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`cost of ${micros} micro-units exceeds the exact range of a number`);
  return Number(micros);
}

/**
 * formatMicros writes an amount of micro-units for humans with all six decimals, so nothing is
 * rounded away: `formatMicros(123, 'USD')` is `USD 0.000123`, `formatMicros(-1_500_000, 'EUR')`
 * is `EUR -1.500000`.
 */
export function formatMicros(micros: number | bigint, currency: string): string {
  const value = typeof micros === 'bigint' ? micros : exactSigned(micros);
  const sign = value < 0n ? '-' : '';
  const magnitude = value < 0n ? -value : value;
  const whole = magnitude / MICROS_PER_UNIT;
  const fraction = (magnitude % MICROS_PER_UNIT).toString().padStart(6, '0');
  return `${currency} ${sign}${whole}.${fraction}`;
}

/** exactSigned turns a safe integer of either sign into a BigInt. */
function exactSigned(value: number): bigint {
  if (!Number.isSafeInteger(value)) throw new RangeError(`micro-units must be a safe integer, got ${value}`);
  return BigInt(value);
}
