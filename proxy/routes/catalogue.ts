import type { InferenceRoute } from '../metering/types.ts';

/** RouteSpec describes one OpenAI route the proxy serves. */
export interface RouteSpec {
  readonly route: InferenceRoute | 'models';
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** body says how a plaintext body is read to find the model: JSON, a multipart form, or none. */
  readonly body: 'json' | 'multipart' | 'none';
}

/** ROUTES lists every OpenAI-compatible route, in the order they are registered. */
export const ROUTES: readonly RouteSpec[] = [
  { route: 'chat/completions', method: 'POST', path: '/v1/chat/completions', body: 'json' },
  { route: 'completions', method: 'POST', path: '/v1/completions', body: 'json' },
  { route: 'responses', method: 'POST', path: '/v1/responses', body: 'json' },
  { route: 'embeddings', method: 'POST', path: '/v1/embeddings', body: 'json' },
  { route: 'audio/transcriptions', method: 'POST', path: '/v1/audio/transcriptions', body: 'multipart' },
  { route: 'models', method: 'GET', path: '/v1/models', body: 'none' },
];
