import type { ServerResponse } from 'node:http';
import type { Behaviour } from './state.ts';

/**
 * Errors the way Tinfoil's router gives them under EHBP 0.3: it rejects a request before the
 * enclave sees it (a per-key rate limit, a bad provider key), so no HPKE context exists and the
 * answer is plaintext without `Ehbp-Response-Nonce`. The EHBP spec (§5.3, mode detection) lets a
 * client pass such a non-2xx answer on as an unauthenticated error; a 2xx never (`status: 200`
 * here is the hostile case: a success that skipped encryption).
 */

/** RouterErrorBody is the answer's body: an OpenAI error object, or plain text. */
export type RouterErrorBody = 'openai' | 'text';

/** RouterErrorSettings make inference requests answer as the router's plaintext rejection. */
export interface RouterErrorSettings {
  readonly status: number;
  /** retryAfterSeconds, when set, is sent as `Retry-After`. */
  readonly retryAfterSeconds?: number;
  /** body is what the answer carries; default `openai`. */
  readonly body: RouterErrorBody;
  /** bodyBytes pads the body to at least this many bytes (an oversized error), sent in pieces. */
  readonly bodyBytes?: number;
  /** times is how many requests get the error before the simulator answers normally again; unset, all. */
  readonly times?: number;
  /** forKey limits the error to requests bearing this provider key (a per-key refusal or rate limit); unset, every request. */
  readonly forKey?: string;
}

/** checkRouterError validates settings, naming the field at fault. */
export function checkRouterError(settings: RouterErrorSettings): RouterErrorSettings {
  if (!Number.isInteger(settings.status) || settings.status < 200 || settings.status > 599) throw new RangeError('status must be an HTTP status from 200 to 599');
  if (!(['openai', 'text'] as readonly unknown[]).includes(settings.body)) throw new RangeError('body must be openai or text');
  for (const name of ['retryAfterSeconds', 'bodyBytes'] as const) {
    const value = settings[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new RangeError(`${name} must be a non-negative integer`);
  }
  if (settings.times !== undefined && (!Number.isInteger(settings.times) || settings.times < 1)) throw new RangeError('times must be a positive integer');
  return { ...settings };
}

/** takeRouterError is the rejection the next inference request gets, if any, counting down `times`. */
export function takeRouterError(state: { behaviour: Behaviour }, authorization: string | undefined): RouterErrorSettings | undefined {
  const settings = state.behaviour.routerError;
  if (settings === null) return undefined;
  if (settings.forKey !== undefined && authorization !== `Bearer ${settings.forKey}`) return undefined;
  if (settings.times !== undefined) {
    state.behaviour = { ...state.behaviour, routerError: settings.times <= 1 ? null : { ...settings, times: settings.times - 1 } };
  }
  return settings;
}

/** messageFor is the message of the simulated rejection, by status. */
function messageFor(status: number): string {
  if (status === 429) return 'Rate limit exceeded for this API key (simulated router)';
  if (status === 401) return 'Invalid API key (simulated router)';
  return `Request rejected by the router with HTTP ${String(status)} (simulated)`;
}

function bodyFor(settings: RouterErrorSettings): string {
  const message = messageFor(settings.status);
  if (settings.body === 'text') return `${message}\n`;
  const type = settings.status === 429 ? 'rate_limit_error' : settings.status === 401 ? 'authentication_error' : 'server_error';
  const code = settings.status === 429 ? 'rate_limit_exceeded' : settings.status === 401 ? 'invalid_api_key' : null;
  return JSON.stringify({ error: { message, type, param: null, code } });
}

const PAD_CHUNK = Buffer.alloc(64 * 1024, 0x20);

/** sendRouterError writes the rejection: plaintext, no EHBP header, chunked when padded. */
export async function sendRouterError(res: ServerResponse, settings: RouterErrorSettings): Promise<void> {
  const body = Buffer.from(bodyFor(settings), 'utf8');
  const headers: Record<string, string> = {
    'content-type': settings.body === 'text' ? 'text/plain; charset=utf-8' : 'application/json',
    'x-ratelimit-limit-requests': '60',
    'x-ratelimit-remaining-requests': settings.status === 429 ? '0' : '59',
    'x-router-trace': 'simulated',
  };
  if (settings.retryAfterSeconds !== undefined) headers['retry-after'] = String(settings.retryAfterSeconds);
  const padding = Math.max(0, (settings.bodyBytes ?? 0) - body.length);
  if (padding === 0) {
    res.writeHead(settings.status, { ...headers, 'content-length': String(body.length) });
    res.end(body);
    return;
  }
  res.writeHead(settings.status, headers);
  res.write(body);
  for (let left = padding; left > 0 && !res.destroyed; left -= PAD_CHUNK.length) {
    const piece = left >= PAD_CHUNK.length ? PAD_CHUNK : PAD_CHUNK.subarray(0, left);
    if (!res.write(piece)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
  }
  res.end();
}
