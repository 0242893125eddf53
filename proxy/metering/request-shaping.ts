import type { InferenceRoute } from './types.ts';
import { isObject } from './usage.ts';

/** ShapedBody is a request body after a shaping step, and whether the step changed it. */
export interface ShapedBody {
  /** body is the input itself when unchanged, else a shallow copy with the change; the input is never mutated. */
  readonly body: unknown;
  readonly injected: boolean;
}

// Only the two classic routes need asking: the Responses API always reports usage in its final
// event, embeddings and transcriptions do not stream token-by-token.
const STREAM_USAGE_ROUTES: ReadonlySet<InferenceRoute> = new Set(['chat/completions', 'completions']);

// Routes whose upstream keeps a prompt cache a per-tenant secret can partition.
const PROMPT_CACHE_ROUTES: ReadonlySet<InferenceRoute> = new Set(['chat/completions', 'completions', 'responses']);

/**
 * ensureStreamUsage asks the upstream to report usage on a streamed chat/completions or completions
 * request, by setting `stream_options.include_usage: true` (other `stream_options` fields kept).
 * `injected` is true when the caller had not asked for usage (absent or `false`): the proxy then
 * hides the usage-only chunk from the caller (SseUsageOptions.hideUsageChunk), so the caller gets
 * the stream it asked for and the proxy can still meter it. Bodies that do not stream are left
 * unchanged. readPlainRequest has already refused a `stream` that is not a boolean (which a lenient
 * upstream would stream on without this step) and a `stream_options` that is not an object; one
 * that still reaches here is left as it is.
 */
export function ensureStreamUsage(body: unknown, route: InferenceRoute): ShapedBody {
  if (!STREAM_USAGE_ROUTES.has(route) || !isObject(body) || body.stream !== true) return { body, injected: false };
  const options = body.stream_options ?? {};
  if (!isObject(options) || options.include_usage === true) return { body, injected: false };
  return { body: { ...body, stream_options: { ...options, include_usage: true } }, injected: true };
}

/**
 * injectPromptCacheSecret sets `user_cache_secret` on chat/completions, completions and responses
 * requests that do not carry one, so that prompt-cache hits are confined to callers of this
 * endpoint (the secret partitions the upstream's cache). A caller's own value is kept; an empty
 * secret changes nothing.
 */
export function injectPromptCacheSecret(body: unknown, route: InferenceRoute, secret: string): ShapedBody {
  if (secret === '' || !PROMPT_CACHE_ROUTES.has(route) || !isObject(body)) return { body, injected: false };
  if (body.user_cache_secret !== undefined) return { body, injected: false };
  return { body: { ...body, user_cache_secret: secret }, injected: true };
}
