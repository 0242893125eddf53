import type { TokenUsage } from './types.ts';

/**
 * TINFOIL_REQUEST_USAGE_HEADER asks Tinfoil to report usage for a request; its value is
 * TINFOIL_REQUEST_USAGE_VALUE. The proxy needs this for client-encrypted (pass-through) bodies,
 * whose usage it cannot read.
 */
export const TINFOIL_REQUEST_USAGE_HEADER = 'X-Tinfoil-Request-Usage-Metrics';
export const TINFOIL_REQUEST_USAGE_VALUE = 'true';

/**
 * TINFOIL_USAGE_HEADER carries Tinfoil's usage report: a response header for complete bodies, an
 * HTTP trailer for streamed ones (usage is known only at the end). Node lower-cases received names,
 * so look it up as `TINFOIL_USAGE_HEADER.toLowerCase()`.
 */
export const TINFOIL_USAGE_HEADER = 'X-Tinfoil-Usage-Metrics';

/** TinfoilUsage is a parsed usage report: token usage plus Tinfoil's own cost, when it sends one. */
export interface TinfoilUsage extends TokenUsage {
  /** costUsd is Tinfoil's cost as a decimal string, exactly as sent (the proxy prices with its own table). */
  readonly costUsd?: string;
}

const COUNT = /^\d{1,16}$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;
const COUNT_FIELDS = new Set(['prompt', 'completion', 'total', 'cached_prompt_tokens', 'uncached_prompt_tokens']);

/** splitFields reads `key=value` pairs; a pair without `=` or a repeated key makes the value malformed. */
function splitFields(value: string): Map<string, string> | undefined {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq === -1) return undefined;
    const key = part.slice(0, eq).trim();
    if (fields.has(key)) return undefined;
    fields.set(key, part.slice(eq + 1).trim());
  }
  return fields;
}

/** counts checks every known count field and returns them as numbers. */
function counts(fields: ReadonlyMap<string, string>): Map<string, number> | undefined {
  const result = new Map<string, number>();
  for (const [key, text] of fields) {
    if (!COUNT_FIELDS.has(key)) continue;
    const n = COUNT.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n)) return undefined;
    result.set(key, n);
  }
  return result;
}

/** optionalText checks an optional field; undefined means malformed, `{}` absent. */
function optionalText(text: string | undefined, valid: (s: string) => boolean): { value?: string } | undefined {
  if (text === undefined) return {};
  return valid(text) ? { value: text } : undefined;
}

/** tokenUsage builds the usage from checked counts, or undefined when they do not add up. */
function tokenUsage(numbers: ReadonlyMap<string, number>): TokenUsage | undefined {
  const prompt = numbers.get('prompt');
  const completion = numbers.get('completion');
  if (prompt === undefined || completion === undefined) return undefined;
  const cached = numbers.get('cached_prompt_tokens') ?? 0;
  if (cached > prompt || (numbers.get('uncached_prompt_tokens') ?? 0) > prompt) return undefined;
  return { inputTokens: prompt, cachedInputTokens: cached, outputTokens: completion };
}

/**
 * parseTinfoilUsage parses an `X-Tinfoil-Usage-Metrics` value:
 * `prompt=<n>,completion=<n>,total=<n>[,cached_prompt_tokens=<n>,uncached_prompt_tokens=<n>][,model=<name>][,cost_usd=<decimal>]`,
 * fields in any order, spaces around them allowed, unknown fields ignored. `prompt` and
 * `completion` are required. A malformed value (a missing or non-integer count, a repeated field,
 * more cached or uncached tokens than prompt tokens, an empty model, a cost that is not a plain
 * decimal) yields undefined, as does an absent one; it never throws. Of several values (repeated
 * headers) the last is used.
 */
export function parseTinfoilUsage(value: string | readonly string[] | undefined): TinfoilUsage | undefined {
  const text = typeof value === 'string' ? value : value?.at(-1);
  const fields = text === undefined ? undefined : splitFields(text);
  const numbers = fields && counts(fields);
  const usage = numbers && tokenUsage(numbers);
  if (fields === undefined || usage === undefined) return undefined;
  const model = optionalText(fields.get('model'), (s) => s !== '');
  const cost = optionalText(fields.get('cost_usd'), (s) => DECIMAL.test(s));
  if (model === undefined || cost === undefined) return undefined;
  return {
    ...usage,
    ...(model.value === undefined ? {} : { model: model.value }),
    ...(cost.value === undefined ? {} : { costUsd: cost.value }),
  };
}

/** HeaderBag is a received header or trailer record (Node's IncomingHttpHeaders, `res.trailers`). */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * tinfoilUsageFrom reads the usage report from the first of `bags` that carries a valid one; pass
 * the trailers before the headers, since a streamed response reports in its trailer.
 */
export function tinfoilUsageFrom(...bags: readonly (HeaderBag | undefined)[]): TinfoilUsage | undefined {
  const name = TINFOIL_USAGE_HEADER.toLowerCase();
  for (const bag of bags) {
    const usage = parseTinfoilUsage(bag?.[name]);
    if (usage !== undefined) return usage;
  }
  return undefined;
}
