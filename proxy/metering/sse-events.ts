import type { TokenUsage } from './types.ts';
import { isObject, usageFromResponseBody } from './usage.ts';

/** StreamRoute names a route whose responses stream as server-sent events. */
export type StreamRoute = 'chat/completions' | 'completions' | 'responses';

/** EventFacts is what one server-sent event tells the meter. */
export interface EventFacts {
  /** usage is the event's token usage, when it carries one. */
  readonly usage: TokenUsage | undefined;
  /** final says no later event will carry usage, so the usage can be reported now. */
  readonly final: boolean;
  /** usageOnly marks the chat chunk that carries usage and no choices (`stream_options.include_usage`). */
  readonly usageOnly: boolean;
  /** content says the event carries generated output (text, reasoning, a refusal or a tool call). */
  readonly content: boolean;
  /** terminal marks the event that ends a whole answer: `[DONE]`, or the Responses API's final event. */
  readonly terminal: boolean;
}

const NOTHING: EventFacts = { usage: undefined, final: false, usageOnly: false, content: false, terminal: false };

// Chat delta fields that carry generated output. `reasoning_content` and `reasoning` are the
// vLLM/DeepSeek reasoning fields; a role-only first delta (`{ role, content: "" }`) is not output.
const CHAT_TEXT_FIELDS = ['content', 'reasoning_content', 'reasoning', 'refusal'] as const;
const CHAT_LIST_FIELDS = ['tool_calls'] as const;

// The Responses API ends a stream with exactly one of these, each carrying the full `response`
// with its usage. Incomplete (e.g. max_output_tokens reached) and failed responses are billed for
// what they consumed, so they are metered like completed ones.
const FINAL_RESPONSE_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** nonEmptyString tells a string with at least one character. */
function nonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value !== '';
}

/** chatChoiceHasContent tells whether one chat chunk choice's delta carries output. */
function chatChoiceHasContent(choice: unknown): boolean {
  if (!isObject(choice) || !isObject(choice.delta)) return false;
  const delta = choice.delta;
  if (CHAT_TEXT_FIELDS.some((field) => nonEmptyString(delta[field]))) return true;
  return CHAT_LIST_FIELDS.some((field) => {
    const list = delta[field];
    return Array.isArray(list) && list.length > 0;
  });
}

/** completionChoiceHasContent tells whether one legacy completions choice carries text. */
function completionChoiceHasContent(choice: unknown): boolean {
  return isObject(choice) && nonEmptyString(choice.text);
}

/** inspectCompletionChunk reads a chat/completions or completions streaming chunk. */
function inspectCompletionChunk(route: 'chat/completions' | 'completions', chunk: Readonly<Record<string, unknown>>): EventFacts {
  const usage = usageFromResponseBody(route, chunk);
  const choices = Array.isArray(chunk.choices) ? (chunk.choices as readonly unknown[]) : undefined;
  // OpenAI sends usage once, in a chunk with empty `choices`, just before `[DONE]`. Servers that
  // report usage on every chunk (vLLM's continuous_usage_stats) put it beside choices; the last
  // one seen is kept and reported when the stream ends.
  const usageOnly = usage !== undefined && choices !== undefined && choices.length === 0;
  const hasContent = route === 'chat/completions' ? chatChoiceHasContent : completionChoiceHasContent;
  const content = choices !== undefined && choices.some(hasContent);
  return { usage, final: usageOnly, usageOnly, content, terminal: false };
}

/** inspectResponsesEvent reads a Responses API streaming event. */
function inspectResponsesEvent(eventName: string, event: Readonly<Record<string, unknown>>): EventFacts {
  // The JSON `type` repeats the SSE `event:` field; either names the event.
  const type = typeof event.type === 'string' ? event.type : eventName;
  if (FINAL_RESPONSE_EVENTS.has(type)) {
    return { ...NOTHING, usage: usageFromResponseBody('responses', event.response), final: true, terminal: true };
  }
  // A stream that fails says so in an `error` event and ends; the answer is whole, if unhappy.
  if (type === 'error') return { ...NOTHING, terminal: true };
  // Every output kind streams as `response.<part>.delta` (output text, reasoning, refusal,
  // function-call arguments); lifecycle events (`response.created`, `….added`) are not output.
  return { ...NOTHING, content: type.endsWith('.delta') && nonEmptyString(event.delta) };
}

const DONE: EventFacts = { ...NOTHING, terminal: true };

/**
 * inspectEvent reads one dispatched server-sent event of `route`: its `event:` name and its joined
 * `data:` lines. `[DONE]` ends a chat or completions stream (the Responses API sends none);
 * comments, non-JSON data and unexpected shapes tell nothing; it never throws.
 */
export function inspectEvent(route: StreamRoute, eventName: string, data: string): EventFacts {
  if (data === '[DONE]') return route === 'responses' ? NOTHING : DONE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return NOTHING;
  }
  if (!isObject(parsed)) return NOTHING;
  return route === 'responses' ? inspectResponsesEvent(eventName, parsed) : inspectCompletionChunk(route, parsed);
}
