import { ProxyError } from '../errors.ts';
import type { InferenceRoute } from '../metering/types.ts';

/** ReservationSettings say how a request's use is estimated before it runs (`limits.reservation`). */
export interface ReservationSettings {
  /** defaultOutputTokens is the output a request is assumed to produce when it names no maximum. */
  readonly defaultOutputTokens: number;
  /** inputBytesPerToken turns a body's size into its prompt estimate. */
  readonly inputBytesPerToken: number;
}

/** TokenEstimate is what a request is expected to use at most: its prompt and its output, in tokens. */
export interface TokenEstimate {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** EstimateInput is what the proxy knows of a request once its body is read. */
export interface EstimateInput {
  readonly route: InferenceRoute;
  /** json is the parsed body of a plaintext JSON request; undefined for forms and client-sealed bodies. */
  readonly json?: Record<string, unknown>;
  readonly bodyBytes: number;
}

/**
 * OUTPUT_FIELDS are, per route, the fields that bound a request's output, first one present wins:
 * OpenAI's Chat Completions prefers `max_completion_tokens` (`max_tokens` is its older name),
 * Completions has `max_tokens`, Responses `max_output_tokens`. Embeddings produce no output tokens.
 */
const OUTPUT_FIELDS: Readonly<Record<InferenceRoute, readonly string[] | undefined>> = {
  'chat/completions': ['max_completion_tokens', 'max_tokens'],
  completions: ['max_tokens'],
  responses: ['max_output_tokens'],
  embeddings: undefined,
  'audio/transcriptions': [],
};

/** CHOICE_FIELDS multiply the output: `n` answers (and Completions' `best_of` candidates, of which `n` are returned). */
const CHOICE_FIELDS: Readonly<Partial<Record<InferenceRoute, readonly string[]>>> = {
  'chat/completions': ['n'],
  completions: ['n', 'best_of'],
};

/**
 * countField reads an optional count the estimate depends on. It must be a non-negative integer when
 * present: a lenient upstream would honour `"max_tokens": "100000"` while the proxy, not reading a
 * number, would reserve its default, so a caller could run a large request on a small reservation.
 */
function countField(json: Record<string, unknown>, name: string, minimum: number): number | undefined {
  const value = json[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new ProxyError('invalid_type', `\`${name}\` must be an integer of at least ${minimum}`, { param: name });
  }
  return value;
}

function outputTokens(input: EstimateInput, settings: ReservationSettings): number {
  const fields = OUTPUT_FIELDS[input.route];
  if (fields === undefined) return 0;
  const json = input.json;
  if (json === undefined) return settings.defaultOutputTokens;
  const named = fields.map((f) => countField(json, f, 0)).find((v) => v !== undefined);
  const choices = Math.max(1, ...(CHOICE_FIELDS[input.route] ?? []).map((f) => countField(json, f, 1) ?? 1));
  return (named ?? settings.defaultOutputTokens) * choices;
}

/**
 * estimateTokens is what a request reserves against token limits and budgets while it runs: its
 * body's size in tokens (`inputBytesPerToken` bytes each, the usual four for English text; a
 * client-sealed body is counted by its ciphertext, about as large) plus its output maximum (the
 * field the caller named, times the answers it asked for, else `defaultOutputTokens`). Audio
 * forms count only the output: their size is sound, not text. When the request ends it is charged
 * its real usage instead (docs/adr/0007-shared-limits-and-budgets.md).
 */
export function estimateTokens(input: EstimateInput, settings: ReservationSettings): TokenEstimate {
  const textual = input.route !== 'audio/transcriptions';
  return {
    inputTokens: textual ? Math.ceil(input.bodyBytes / settings.inputBytesPerToken) : 0,
    outputTokens: outputTokens(input, settings),
  };
}
