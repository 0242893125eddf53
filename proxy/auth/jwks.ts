import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { AuthLogger } from './types.ts';

/** JwksOptions says where an issuer's key set is and how often it may be fetched. */
export interface JwksOptions {
  readonly url: string;
  /** maxAgeMs: a key set older than this is fetched again before it is used. */
  readonly maxAgeMs: number;
  /** cooldownMs: the least time between two fetches, successful or not, whatever tokens arrive. */
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  /** maxBytes bounds the key set document. */
  readonly maxBytes?: number;
}

/** JwksDeps are the clock and the logger. */
export interface JwksDeps {
  now(): number;
  readonly logger: AuthLogger;
}

/** JwksUnavailable means no usable key set could be had: the issuer's JWKS endpoint failed, or failed recently. */
export class JwksUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwksUnavailable';
  }
}

/** RemoteJwks resolves a token's verification key from an issuer's key set, fetching it as needed. */
export interface RemoteJwks {
  /** key is jose's key resolver: it throws JWKSNoMatchingKey for an unknown `kid`, JwksUnavailable without a key set. */
  readonly key: JWTVerifyGetKey;
  /** fetches counts the fetches attempted so far. */
  fetches(): number;
}

interface KeySet {
  readonly resolve: JWTVerifyGetKey;
  readonly fetchedAt: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024;

function summary(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}

/** readBounded reads a response body, giving up (and cancelling it) past `maxBytes`. */
async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  for (let read = await reader?.read(); read !== undefined && !read.done; read = await reader?.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) {
      await reader?.cancel();
      throw new Error(`the key set is larger than ${maxBytes} bytes`);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function download(options: JwksOptions): Promise<{ resolve: JWTVerifyGetKey; kids: string[] }> {
  // No redirects: a key set that moves could move to plain http or to someone else's host.
  const response = await fetch(options.url, { redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs), headers: { accept: 'application/json' } });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status}`);
  }
  const document = JSON.parse(await readBounded(response, options.maxBytes ?? DEFAULT_MAX_BYTES)) as JSONWebKeySet;
  const resolve = createLocalJWKSet(document); // throws JWKSInvalid for anything but { keys: [...] }
  return { resolve, kids: document.keys.map((k) => k.kid ?? '(none)') };
}

/**
 * createRemoteJwks keeps an issuer's JSON Web Key Set (RFC 7517 §5) in memory. It fetches the set
 * on first use, again once it is older than `maxAgeMs`, and again when a token names a `kid` the set
 * lacks (the issuer may have rotated), but never twice within `cooldownMs`: a stream of tokens with
 * made-up `kid`s costs the issuer one fetch per cooldown, not one per token. Concurrent requests
 * share one fetch. It fails closed: an expired set that cannot be refreshed is not used.
 */
export function createRemoteJwks(options: JwksOptions, deps: JwksDeps): RemoteJwks {
  let current: KeySet | undefined;
  let lastAttempt = -Infinity;
  let lastError: unknown;
  let attempts = 0;
  let pending: Promise<KeySet> | undefined;

  const fetchNow = async (): Promise<KeySet> => {
    attempts++;
    lastAttempt = deps.now();
    try {
      const { resolve, kids } = await download(options);
      current = { resolve, fetchedAt: deps.now() };
      deps.logger.info({ jwksUrl: options.url, kids }, 'jwt auth: key set fetched');
      return current;
    } catch (error) {
      lastError = error;
      deps.logger.warn({ jwksUrl: options.url, error: summary(error) }, 'jwt auth: key set fetch failed');
      throw new JwksUnavailable(`the issuer's key set could not be fetched: ${summary(error)}`, { cause: error });
    }
  };

  const refresh = (): Promise<KeySet> => {
    pending ??= fetchNow().finally(() => (pending = undefined));
    return pending;
  };

  const coolingDown = (): boolean => deps.now() - lastAttempt < options.cooldownMs;

  const usableSet = async (): Promise<KeySet> => {
    if (current !== undefined && deps.now() - current.fetchedAt < options.maxAgeMs) return current;
    if (pending !== undefined) return pending;
    if (coolingDown()) throw new JwksUnavailable(`the issuer's key set is unavailable: ${summary(lastError)}`, { cause: lastError });
    return refresh();
  };

  const key: JWTVerifyGetKey = async (header, token) => {
    const set = await usableSet();
    try {
      return await set.resolve(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (pending === undefined && coolingDown()) throw error;
      const fresh = pending ?? refresh();
      return (await fresh).resolve(header, token);
    }
  };

  return { key, fetches: () => attempts };
}
