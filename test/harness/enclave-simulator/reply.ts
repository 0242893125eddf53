/**
 * What the simulated model answers, decided only by the request and the simulator's settings:
 * the completion text is fixed per model (and configurable), token counts are word counts unless
 * overridden, so every test and benchmark sees the same numbers for the same request.
 */

/** UsageOverrides replaces measured token counts; cachedTokens is the cached part of the prompt. */
export interface UsageOverrides {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly cachedTokens?: number;
}

/** ReplySettings is the configurable part of every answer. */
export interface ReplySettings {
  /** completionTexts maps a model name to its completion text; `*` applies to every other model. */
  readonly completionTexts: Readonly<Record<string, string>>;
  readonly usage: UsageOverrides;
}

/** Usage is one answer's token usage, in the shape Tinfoil's router reports it. */
export interface Usage {
  readonly model: string;
  readonly promptTokens: number;
  /** cachedPromptTokens is the part of promptTokens served from a prompt cache. */
  readonly cachedPromptTokens: number;
  readonly completionTokens: number;
}

/** Reply is the text a model produces for one request and what it cost. */
export interface Reply {
  readonly text: string;
  /** pieces is `text` cut as a stream sends it: each word with its leading space. */
  readonly pieces: readonly string[];
  readonly finishReason: 'stop' | 'length';
  readonly usage: Usage;
}

/** ReplyContext is what a response builder needs beyond the request: ids and time are per request. */
export interface ReplyContext {
  readonly settings: ReplySettings;
  /** id is unique per simulator instance and deterministic: the request's sequence number. */
  readonly id: string;
  /** created is the answer's time in Unix seconds. */
  readonly created: number;
}

/**
 * SimulatedResponse is what an endpoint answers: one JSON (or text) document, or a list of SSE
 * events that the server writes one by one. `usage` feeds the `X-Tinfoil-Usage-Metrics` header or trailer.
 */
export type SimulatedResponse =
  | { readonly kind: 'document'; readonly status: number; readonly contentType: string; readonly body: string; readonly usage?: Usage }
  | { readonly kind: 'stream'; readonly events: readonly string[]; readonly usage: Usage };

/** defaultCompletionText is the answer of a model nobody configured. */
export function defaultCompletionText(model: string): string {
  return `This is the enclave simulator answering as ${model}.`;
}

/** countWords is the simulator's tokenizer: whitespace-separated words. */
export function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length;
}

/** textOf collects the text of a message content: a string, or an array of parts carrying `text`. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (typeof part === 'string' ? part : textOf((part as { text?: unknown } | null)?.text)))
    .join(' ');
}

function completionTextFor(settings: ReplySettings, model: string): string {
  return settings.completionTexts[model] ?? settings.completionTexts['*'] ?? defaultCompletionText(model);
}

/** measureUsage applies the overrides to measured counts; cached tokens never exceed the prompt. */
export function measureUsage(settings: ReplySettings, model: string, promptTokens: number, completionTokens: number): Usage {
  const prompt = settings.usage.promptTokens ?? promptTokens;
  return {
    model,
    promptTokens: prompt,
    cachedPromptTokens: Math.min(settings.usage.cachedTokens ?? 0, prompt),
    completionTokens: settings.usage.completionTokens ?? completionTokens,
  };
}

/**
 * replyFor produces the model's answer to a prompt of `promptTokens` tokens. `maxTokens` cuts the
 * text to that many words, as a real model stops at its token limit (finish reason `length`).
 */
export function replyFor(settings: ReplySettings, model: string, promptTokens: number, maxTokens?: number): Reply {
  const words = completionTextFor(settings, model).split(/\s+/).filter((w) => w.length > 0);
  const limited = maxTokens !== undefined && maxTokens >= 0 && maxTokens < words.length;
  const kept = limited ? words.slice(0, maxTokens) : words;
  return {
    text: kept.join(' '),
    pieces: kept.map((w, i) => (i === 0 ? w : ` ${w}`)),
    finishReason: limited ? 'length' : 'stop',
    usage: measureUsage(settings, model, promptTokens, kept.length),
  };
}

/**
 * usageMetricsValue formats Tinfoil's `X-Tinfoil-Usage-Metrics` value:
 * `prompt=<n>,completion=<n>,total=<n>[,cached_prompt_tokens=<n>,uncached_prompt_tokens=<n>],model=<m>`;
 * the cache split appears only when part of the prompt was cached.
 */
export function usageMetricsValue(usage: Usage): string {
  const fields = [`prompt=${usage.promptTokens}`, `completion=${usage.completionTokens}`, `total=${usage.promptTokens + usage.completionTokens}`];
  if (usage.cachedPromptTokens > 0) {
    fields.push(`cached_prompt_tokens=${usage.cachedPromptTokens}`, `uncached_prompt_tokens=${usage.promptTokens - usage.cachedPromptTokens}`);
  }
  fields.push(`model=${usage.model}`);
  return fields.join(',');
}

/** sseData formats one unnamed server-sent event (WHATWG HTML §9.2) carrying JSON. */
export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** jsonDocument is a JSON answer. */
export function jsonDocument(body: unknown, usage?: Usage, status = 200): SimulatedResponse {
  return { kind: 'document', status, contentType: 'application/json', body: JSON.stringify(body), usage };
}

/** openAIError is an error in OpenAI's envelope. */
export function openAIError(status: number, message: string, type = 'invalid_request_error'): SimulatedResponse {
  return jsonDocument({ error: { message, type, param: null, code: null } }, undefined, status);
}
