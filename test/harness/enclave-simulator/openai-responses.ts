import { numberField, responsesInputTokens, streams, stringField, type RequestBody } from './fields.ts';
import { jsonDocument, openAIError, replyFor, type Reply, type ReplyContext, type SimulatedResponse } from './reply.ts';

/**
 * The Responses API (`POST /v1/responses`): a `response` object whose usage is
 * `input_tokens` / `input_tokens_details.cached_tokens` / `output_tokens`; streamed as named events,
 * `response.created`, one `response.output_text.delta` per word, `response.output_text.done` and
 * `response.completed` carrying the final response with its usage. No `[DONE]` sentinel.
 */

function responseObject(ctx: ReplyContext, model: string, reply: Reply | undefined): Record<string, unknown> {
  const base = { id: `resp_${ctx.id}`, object: 'response', created_at: ctx.created, model, error: null };
  if (reply === undefined) return { ...base, status: 'in_progress', incomplete_details: null, output: [], usage: null };
  const cut = reply.finishReason === 'length';
  const usage = reply.usage;
  return {
    ...base,
    status: cut ? 'incomplete' : 'completed',
    incomplete_details: cut ? { reason: 'max_output_tokens' } : null,
    output: [
      {
        type: 'message',
        id: `msg_${ctx.id}`,
        status: cut ? 'incomplete' : 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: reply.text, annotations: [] }],
      },
    ],
    usage: {
      input_tokens: usage.promptTokens,
      input_tokens_details: { cached_tokens: usage.cachedPromptTokens },
      output_tokens: usage.completionTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.promptTokens + usage.completionTokens,
    },
  };
}

/** namedEvent formats one server-sent event with an `event:` line, as the Responses API streams. */
function namedEvent(type: string, sequence: number, payload: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...payload })}\n\n`;
}

function responseStream(ctx: ReplyContext, model: string, reply: Reply): SimulatedResponse {
  const item = { item_id: `msg_${ctx.id}`, output_index: 0, content_index: 0 };
  const events = [namedEvent('response.created', 0, { response: responseObject(ctx, model, undefined) })];
  for (const piece of reply.pieces) events.push(namedEvent('response.output_text.delta', events.length, { ...item, delta: piece }));
  events.push(namedEvent('response.output_text.done', events.length, { ...item, text: reply.text }));
  events.push(namedEvent('response.completed', events.length, { response: responseObject(ctx, model, reply) }));
  return { kind: 'stream', events, usage: reply.usage };
}

/** response answers `POST /v1/responses`. */
export function response(ctx: ReplyContext, body: RequestBody): SimulatedResponse {
  const model = stringField(body, 'model');
  if (model === undefined) return openAIError(400, 'you must provide a model parameter');
  if (body.input === undefined) return openAIError(400, "'input' is a required property");
  const reply = replyFor(ctx.settings, model, responsesInputTokens(body), numberField(body, 'max_output_tokens'));
  if (streams(body)) return responseStream(ctx, model, reply);
  return jsonDocument(responseObject(ctx, model, reply), reply.usage);
}
