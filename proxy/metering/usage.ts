import type { InferenceRoute, TokenUsage } from './types.ts';

/** JsonObject is a parsed JSON object whose fields are not yet checked. */
type JsonObject = Readonly<Record<string, unknown>>;

/** UsageFields names where one body shape keeps its input, cached-input and output counts. */
interface UsageFields {
  readonly input: string;
  readonly details: string;
  readonly output: string | undefined;
}

// Chat and legacy completions share OpenAI's original usage object; the Responses API renamed the
// fields; embeddings have no output tokens. Transcriptions by token-billed models (gpt-4o-transcribe)
// use the Responses names; duration-billed ones (whisper-1) report `{ type: "duration", seconds }`,
// which has no token counts and so yields nothing.
const CLASSIC: UsageFields = { input: 'prompt_tokens', details: 'prompt_tokens_details', output: 'completion_tokens' };
const RESPONSES: UsageFields = { input: 'input_tokens', details: 'input_tokens_details', output: 'output_tokens' };
const EMBEDDINGS: UsageFields = { input: 'prompt_tokens', details: 'prompt_tokens_details', output: undefined };

const FIELDS: Readonly<Record<InferenceRoute, UsageFields>> = {
  'chat/completions': CLASSIC,
  completions: CLASSIC,
  responses: RESPONSES,
  embeddings: EMBEDDINGS,
  'audio/transcriptions': RESPONSES,
};

/** isObject tells a JSON object from arrays, null and scalars. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** tokenCount accepts a count only as a non-negative safe integer; anything else is absent. */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * usageFromObject reads a usage object of the given shape. It needs at least one real count; a
 * missing one counts as 0, and a cached count is clamped to the input count so that the uncached
 * part is never negative.
 */
function usageFromObject(usage: JsonObject, fields: UsageFields, model: unknown): TokenUsage | undefined {
  const input = tokenCount(usage[fields.input]);
  const output = fields.output === undefined ? undefined : tokenCount(usage[fields.output]);
  if (input === undefined && output === undefined) return undefined;
  const details = usage[fields.details];
  const cached = isObject(details) ? (tokenCount(details.cached_tokens) ?? 0) : 0;
  const inputTokens = input ?? 0;
  const result = { inputTokens, cachedInputTokens: Math.min(cached, inputTokens), outputTokens: output ?? 0 };
  return typeof model === 'string' && model !== '' ? { ...result, model } : result;
}

/**
 * usageFromResponseBody extracts the usage from a complete, parsed JSON response body of `route`
 * (for the Responses API also the `response` object of a streamed `response.completed` event).
 * It returns undefined when the body carries no token counts and never throws, whatever the body.
 */
export function usageFromResponseBody(route: InferenceRoute, body: unknown): TokenUsage | undefined {
  if (!isObject(body) || !isObject(body.usage)) return undefined;
  return usageFromObject(body.usage, FIELDS[route], body.model);
}
