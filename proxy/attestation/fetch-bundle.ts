import { AttestationFailure } from './types.ts';
import { stepMessage } from './steps.ts';

/** DEFAULT_FETCH_TIMEOUT_MS bounds one bundle fetch, body included. */
export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;

/** DEFAULT_MAX_BUNDLE_BYTES bounds the bundle body; a real Tinfoil bundle is under 20 KiB. */
export const DEFAULT_MAX_BUNDLE_BYTES = 1_048_576;

/** FetchBundleOptions tunes one fetch; `fetch` is injectable so tests and the operator can swap transports. */
export interface FetchBundleOptions {
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  /** signal lets the caller abandon the fetch (shutdown, a newer verification). */
  readonly signal?: AbortSignal;
}

/**
 * attestationUrl is `<bundleUrl>/attestation`, the endpoint the `tinfoil` SDK's
 * `fetchAttestationBundle` reads; a path in `bundleUrl` is kept.
 */
export function attestationUrl(bundleUrl: string): URL {
  const base = new URL(bundleUrl);
  if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
  return new URL('attestation', base);
}

function fetchFailure(detail: string, cause?: unknown): AttestationFailure {
  return new AttestationFailure('fetch', stepMessage('fetch', detail), { cause });
}

/** transportDetail names why a fetch broke: our timeout, the caller's abort, or the network (with its code). */
function transportDetail(url: URL, error: unknown, signals: { timeout: AbortSignal; timeoutMs: number; caller?: AbortSignal }): string {
  if (signals.timeout.aborted) return `GET ${url.href} timed out after ${signals.timeoutMs} ms`;
  if (signals.caller?.aborted === true) return `GET ${url.href} was aborted by the caller`;
  // undici reports network errors as TypeError('fetch failed') with the system error as cause.
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  const message = typeof cause?.message === 'string' ? cause.message : String(error);
  return `GET ${url.href} failed${code}: ${message}`;
}

async function readBounded(response: Response, url: URL, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw fetchFailure(`GET ${url.href} announced ${declared} bytes, more than the ${maxBytes}-byte limit`);
  }
  if (response.body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    const value = chunk.value;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw fetchFailure(`GET ${url.href} returned more than the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * fetchAttestationBundle GETs `<bundleUrl>/attestation` and returns the parsed JSON, unverified.
 * Every failure (network, timeout, abort, HTTP status, size, JSON) is an AttestationFailure at step
 * `fetch`; the timeout covers the body as well as the headers.
 */
export async function fetchAttestationBundle(bundleUrl: string, options: FetchBundleOptions = {}): Promise<unknown> {
  const url = attestationUrl(bundleUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  const doFetch = options.fetch ?? fetch;
  let text: string;
  try {
    const response = await doFetch(url, { signal, headers: { accept: 'application/json' } });
    if (!response.ok) {
      await response.body?.cancel();
      throw fetchFailure(`GET ${url.href} answered HTTP ${response.status}`);
    }
    text = await readBounded(response, url, options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES);
  } catch (error) {
    if (error instanceof AttestationFailure) throw error;
    throw fetchFailure(transportDetail(url, error, { timeout, timeoutMs, caller: options.signal }), error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw fetchFailure(`GET ${url.href} returned a body that is not JSON`, cause);
  }
}
