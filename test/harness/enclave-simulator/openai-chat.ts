import { includesUsage, messagesTokens, numberField, promptTokens, streams, stringField, type RequestBody } from './fields.ts';
import { jsonDocument, openAIError, replyFor, sseData, type Reply, type ReplyContext, type SimulatedResponse, type Usage } from './reply.ts';

/**
 * Chat completions (`POST /v1/chat/completions`) and legacy completions (`POST /v1/completions`)
 * in OpenAI's shapes, including the streamed chunk format: one chunk per word, a finish chunk, the
 * usage-only chunk with empty `choices` when `stream_options.include_usage` is set, then `[DONE]`.
 */

const DONE = 'data: [DONE]\n\n';

function tokenUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

function maxTokens(body: RequestBody): number | undefined {
  return numberField(body, 'max_completion_tokens') ?? numberField(body, 'max_tokens');
}

/** streamEvents frames the content chunks with the optional usage chunk and the `[DONE]` sentinel. */
function streamEvents(
  chunk: (choices: unknown[], extra?: Record<string, unknown>) => Record<string, unknown>,
  choices: readonly unknown[],
  usage: Usage,
  withUsage: boolean,
): string[] {
  // With include_usage, OpenAI sends `usage: null` on every chunk, then one chunk carrying only usage.
  const extra = withUsage ? { usage: null } : undefined;
  const events = choices.map((choice) => sseData(chunk([choice], extra)));
  if (withUsage) events.push(sseData(chunk([], { usage: tokenUsage(usage) })));
  events.push(DONE);
  return events;
}

function chatStream(ctx: ReplyContext, model: string, reply: Reply, withUsage: boolean): SimulatedResponse {
  const chunk = (choices: unknown[], extra?: Record<string, unknown>): Record<string, unknown> => ({
    id: `chatcmpl-${ctx.id}`,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model,
    system_fingerprint: null,
    choices,
    ...extra,
  });
  const choice = (delta: Record<string, unknown>, finish: string | null): unknown => ({ index: 0, delta, logprobs: null, finish_reason: finish });
  const choices = [
    choice({ role: 'assistant', content: '' }, null),
    ...reply.pieces.map((piece) => choice({ content: piece }, null)),
    choice({}, reply.finishReason),
  ];
  return { kind: 'stream', events: streamEvents(chunk, choices, reply.usage, withUsage), usage: reply.usage };
}

/** chatCompletion answers `POST /v1/chat/completions`. */
export function chatCompletion(ctx: ReplyContext, body: RequestBody): SimulatedResponse {
  const model = stringField(body, 'model');
  if (model === undefined) return openAIError(400, 'you must provide a model parameter');
  if (!Array.isArray(body.messages)) return openAIError(400, "'messages' is a required property");
  const reply = replyFor(ctx.settings, model, messagesTokens(body.messages), maxTokens(body));
  if (streams(body)) return chatStream(ctx, model, reply, includesUsage(body));
  return jsonDocument(
    {
      id: `chatcmpl-${ctx.id}`,
      object: 'chat.completion',
      created: ctx.created,
      model,
      system_fingerprint: null,
      choices: [{ index: 0, message: { role: 'assistant', content: reply.text, refusal: null }, logprobs: null, finish_reason: reply.finishReason }],
      usage: tokenUsage(reply.usage),
    },
    reply.usage,
  );
}

/** completion answers the legacy `POST /v1/completions`. */
export function completion(ctx: ReplyContext, body: RequestBody): SimulatedResponse {
  const model = stringField(body, 'model');
  if (model === undefined) return openAIError(400, 'you must provide a model parameter');
  if (body.prompt === undefined) return openAIError(400, "'prompt' is a required property");
  const reply = replyFor(ctx.settings, model, promptTokens(body.prompt), maxTokens(body));
  const choice = (text: string, finish: string | null): unknown => ({ text, index: 0, logprobs: null, finish_reason: finish });
  if (streams(body)) {
    const chunk = (choices: unknown[], extra?: Record<string, unknown>): Record<string, unknown> => ({
      id: `cmpl-${ctx.id}`,
      object: 'text_completion',
      created: ctx.created,
      model,
      choices,
      ...extra,
    });
    const choices = [...reply.pieces.map((piece) => choice(piece, null)), choice('', reply.finishReason)];
    return { kind: 'stream', events: streamEvents(chunk, choices, reply.usage, includesUsage(body)), usage: reply.usage };
  }
  return jsonDocument(
    {
      id: `cmpl-${ctx.id}`,
      object: 'text_completion',
      created: ctx.created,
      model,
      choices: [choice(reply.text, reply.finishReason)],
      usage: tokenUsage(reply.usage),
    },
    reply.usage,
  );
}
