import { createHash } from 'node:crypto';
import { numberField, promptTokens, stringField, type RequestBody } from './fields.ts';
import type { FormPart } from './multipart.ts';
import { jsonDocument, measureUsage, openAIError, replyFor, type ReplyContext, type SimulatedResponse } from './reply.ts';

/**
 * Embeddings, audio transcriptions and the model list in OpenAI's shapes. Embedding vectors are a
 * hash of the model and input, so the same input always maps to the same unit vector.
 */

/** DEFAULT_DIMENSIONS is the embedding size when the request does not ask for `dimensions`. */
export const DEFAULT_DIMENSIONS = 16;
/** AUDIO_BYTES_PER_TOKEN prices audio input: one prompt token per started kilobyte of the file. */
export const AUDIO_BYTES_PER_TOKEN = 1000;

function embeddingInputs(input: unknown): unknown[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'number')) return [input];
  return Array.isArray(input) ? input : [];
}

/** embeddingVector is the deterministic unit vector of `input` under `model`. */
export function embeddingVector(model: string, input: unknown, dimensions: number): Float32Array {
  const seed = typeof input === 'string' ? input : JSON.stringify(input);
  const raw: number[] = [];
  for (let block = 0; raw.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${model}\0${seed}\0${block}`).digest();
    for (let i = 0; i < digest.length && raw.length < dimensions; i += 4) raw.push(digest.readUInt32BE(i) / 0x80000000 - 1);
  }
  const norm = Math.hypot(...raw) || 1;
  return Float32Array.from(raw, (x) => x / norm);
}

/** embeddings answers `POST /v1/embeddings`, honouring `dimensions` and `encoding_format: base64`. */
export function embeddings(ctx: ReplyContext, body: RequestBody): SimulatedResponse {
  const model = stringField(body, 'model');
  if (model === undefined) return openAIError(400, 'you must provide a model parameter');
  const inputs = embeddingInputs(body.input);
  if (inputs.length === 0) return openAIError(400, "'input' must be a non-empty string or array");
  const dimensions = Math.max(1, Math.floor(numberField(body, 'dimensions') ?? DEFAULT_DIMENSIONS));
  // The OpenAI SDK asks for base64 by default and decodes little-endian float32 itself.
  const base64 = body.encoding_format === 'base64';
  const data = inputs.map((input, index) => {
    const vector = embeddingVector(model, input, dimensions);
    const embedding = base64 ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64') : Array.from(vector);
    return { object: 'embedding', index, embedding };
  });
  const usage = { ...measureUsage(ctx.settings, model, promptTokens(inputs), 0), completionTokens: 0 };
  return jsonDocument({ object: 'list', data, model, usage: { prompt_tokens: usage.promptTokens, total_tokens: usage.promptTokens } }, usage);
}

/**
 * transcription answers `POST /v1/audio/transcriptions` (multipart form with `file` and `model`): the
 * model's fixed text as `{ text, usage }`, or plain text when `response_format` is `text`.
 */
export function transcription(ctx: ReplyContext, form: readonly FormPart[]): SimulatedResponse {
  const field = (name: string): string | undefined => form.find((p) => p.name === name && p.filename === undefined)?.data.toString('utf8');
  const model = field('model');
  const file = form.find((p) => p.name === 'file' && p.filename !== undefined);
  if (model === undefined || model.length === 0) return openAIError(400, 'you must provide a model parameter');
  if (file === undefined) return openAIError(400, "'file' must be an uploaded file");
  const audioTokens = Math.ceil(file.data.length / AUDIO_BYTES_PER_TOKEN);
  const reply = replyFor(ctx.settings, model, audioTokens);
  if (field('response_format') === 'text') {
    return { kind: 'document', status: 200, contentType: 'text/plain; charset=utf-8', body: reply.text, usage: reply.usage };
  }
  const u = reply.usage;
  return jsonDocument(
    {
      text: reply.text,
      usage: {
        type: 'tokens',
        input_tokens: u.promptTokens,
        input_token_details: { text_tokens: 0, audio_tokens: u.promptTokens },
        output_tokens: u.completionTokens,
        total_tokens: u.promptTokens + u.completionTokens,
      },
    },
    u,
  );
}

/** models answers `GET /v1/models`. */
export function models(ctx: ReplyContext, names: readonly string[]): SimulatedResponse {
  return jsonDocument({ object: 'list', data: names.map((id) => ({ id, object: 'model', created: ctx.created, owned_by: 'tinfoil' })) });
}
