import { countWords, textOf } from './reply.ts';

/** RequestBody is a parsed JSON request body; the simulator reads only the fields it needs. */
export type RequestBody = Readonly<Record<string, unknown>>;

/** stringField is `body[name]` when it is a non-empty string. */
export function stringField(body: RequestBody, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** numberField is `body[name]` when it is a finite number. */
export function numberField(body: RequestBody, name: string): number | undefined {
  const value = body[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** streams tells whether the request asks for server-sent events. */
export function streams(body: RequestBody): boolean {
  return body.stream === true;
}

/** includesUsage tells whether a streamed chat or completion asked for the final usage chunk. */
export function includesUsage(body: RequestBody): boolean {
  const options = body.stream_options as { include_usage?: unknown } | null | undefined;
  return options?.include_usage === true;
}

/** messagesTokens counts the words of every chat message's content. */
export function messagesTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  return messages.reduce((sum: number, m: unknown) => sum + countWords(textOf((m as { content?: unknown } | null)?.content)), 0);
}

/**
 * promptTokens counts a legacy or embeddings input: a string, strings, or token arrays (whose
 * length is their token count).
 */
export function promptTokens(input: unknown): number {
  if (typeof input === 'string') return countWords(input);
  if (!Array.isArray(input)) return 0;
  if (input.every((x) => typeof x === 'number')) return input.length;
  return input.reduce((sum: number, item: unknown) => sum + promptTokens(item), 0);
}

/** responsesInputTokens counts a Responses API `input` (string or items with content) plus `instructions`. */
export function responsesInputTokens(body: RequestBody): number {
  const instructions = typeof body.instructions === 'string' ? countWords(body.instructions) : 0;
  const input = body.input;
  if (typeof input === 'string') return instructions + countWords(input);
  return instructions + messagesTokens(input);
}
