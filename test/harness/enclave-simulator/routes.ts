import type { RequestBody } from './fields.ts';
import { chatCompletion, completion } from './openai-chat.ts';
import { embeddings, models, transcription } from './openai-misc.ts';
import { response } from './openai-responses.ts';
import { parseMultipart } from './multipart.ts';
import { openAIError, type ReplyContext, type SimulatedResponse } from './reply.ts';

/**
 * The OpenAI-compatible endpoints the simulated enclave serves, as a table from method and path
 * to a pure answer builder. Bodies arrive here already decrypted.
 */

/** InferenceRequest is a decrypted request to an inference path. */
export interface InferenceRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly authorization: string | undefined;
}

/** RouteOptions are the fixed parts of the simulated enclave's API. */
export interface RouteOptions {
  readonly models: readonly string[];
  /** apiKey, when set, is the bearer token every inference request must carry (any one of a list). */
  readonly apiKey?: string | readonly string[];
}

type JsonRoute = (ctx: ReplyContext, body: RequestBody) => SimulatedResponse;

const JSON_ROUTES: Readonly<Record<string, JsonRoute>> = {
  '/v1/chat/completions': chatCompletion,
  '/v1/completions': completion,
  '/v1/responses': response,
  '/v1/embeddings': embeddings,
};

/** INFERENCE_PATHS are every path the simulator answers under `/v1/`. */
export const INFERENCE_PATHS: readonly string[] = [...Object.keys(JSON_ROUTES), '/v1/audio/transcriptions', '/v1/models'];

function parseJson(body: Buffer): RequestBody | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as RequestBody) : undefined;
  } catch {
    return undefined;
  }
}

/** answer routes one inference request to its builder. */
export function answer(ctx: ReplyContext, request: InferenceRequest, options: RouteOptions): SimulatedResponse {
  if (!INFERENCE_PATHS.includes(request.path)) return openAIError(404, `no route for ${request.path}`, 'not_found_error');
  const accepted = options.apiKey === undefined ? undefined : typeof options.apiKey === 'string' ? [options.apiKey] : options.apiKey;
  if (accepted !== undefined && !accepted.some((key) => request.authorization === `Bearer ${key}`)) {
    return openAIError(401, 'incorrect API key provided', 'authentication_error');
  }
  const expected = request.path === '/v1/models' ? 'GET' : 'POST';
  if (request.method !== expected) return openAIError(405, `${request.path} accepts ${expected} only`);
  if (request.path === '/v1/models') return models(ctx, options.models);
  if (request.path === '/v1/audio/transcriptions') {
    const form = parseMultipart(request.body, request.contentType);
    return form === undefined ? openAIError(400, 'the body must be multipart/form-data') : transcription(ctx, form);
  }
  const body = parseJson(request.body);
  const route = JSON_ROUTES[request.path];
  if (body === undefined || route === undefined) return openAIError(400, 'the body must be a JSON object');
  return route(ctx, body);
}
