import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { EhbpFraming, IncompleteAnswerError, incompleteReason, JsonEnvelope, type IncompleteReason } from '../metering/completeness.ts';
import { RESPONSE_NONCE_HEADER } from '../ehbp/client.ts';
import { createSseUsageTransform, type StreamRoute } from '../metering/sse.ts';
import { tinfoilUsageFrom } from '../metering/tinfoil-usage.ts';
import type { InferenceRoute, TokenUsage } from '../metering/types.ts';
import { usageFromResponseBody } from '../metering/usage.ts';
import type { ProviderResponse } from '../upstream/provider.ts';

/** MAX_METERED_JSON bounds how much of a JSON answer is kept to read its usage; larger ones pass unmetered. */
const MAX_METERED_JSON = 8 * 1024 * 1024;
const STREAM_ROUTES: ReadonlySet<string> = new Set(['chat/completions', 'completions', 'responses']);

/** Relayed is the caller-facing body of an upstream answer, with what was learned while it passed. */
export interface Relayed {
  readonly body: Readable;
  /** usage is the request's usage once the body has ended: Tinfoil's usage header or trailer first, else the body's. */
  usage(): TokenUsage | undefined;
  /**
   * incomplete says why the answer is known to be short (the caller's body then failed instead of
   * ending), undefined while it is not: the usage of a short answer is what passed, not all of it.
   */
  incomplete(): IncompleteReason | undefined;
  /** contentEvents counts the stream events with generated output that passed (0 for answers that are not event streams). */
  contentEvents(): number;
}

/** RelayOptions says what the caller asked for and whom to tell when the first output passes. */
export interface RelayOptions {
  readonly route: InferenceRoute | 'models';
  readonly hideUsageChunk: boolean;
  readonly onFirstOutput: () => void;
  /** onIncomplete is told once when the answer turns out short and the caller's body fails. */
  readonly onIncomplete?: (reason: IncompleteReason) => void;
}

/** once wraps a callback so that only its first call runs. */
function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}

/** parseJson parses bytes as one whole JSON text, or says they are not one. */
function parseJson(bytes: Buffer): { readonly whole: boolean; readonly value?: unknown } {
  try {
    return { whole: true, value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch {
    return { whole: false };
  }
}

/**
 * jsonTap passes bytes through unchanged and keeps a bounded copy to read the usage at the end. An
 * answer that is not whole JSON (parsed in full while kept, its bracket envelope checked beyond)
 * fails with `invalid_json` after its last byte instead of ending.
 */
function jsonTap(route: InferenceRoute, onUsage: (u: TokenUsage | undefined) => void, onFirst: () => void): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  let envelope: JsonEnvelope | undefined;
  const first = once(onFirst);
  const short = (): IncompleteAnswerError => new IncompleteAnswerError('invalid_json', `the ${route} answer is not whole JSON`);
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback): void {
      first();
      size += chunk.length;
      if (size <= MAX_METERED_JSON) parts.push(chunk);
      else if (envelope === undefined) {
        // Too large to keep: the kept part and the rest are checked as they pass instead.
        envelope = new JsonEnvelope();
        for (const part of [...parts, chunk]) envelope.push(part);
        parts = [];
      } else envelope.push(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback): void {
      if (envelope !== undefined) {
        onUsage(undefined);
        callback(envelope.complete ? null : short());
        return;
      }
      const parsed = parseJson(Buffer.concat(parts));
      onUsage(parsed.whole ? usageFromResponseBody(route, parsed.value) : undefined);
      callback(parsed.whole ? null : short());
    },
  });
}

/** firstByteTap notes when the first byte passes, for bodies the proxy cannot read (client-sealed). */
function firstByteTap(onFirst: () => void): Transform {
  const first = once(onFirst);
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback): void {
      first();
      callback(null, chunk);
    },
  });
}

/**
 * framingTap is firstByteTap for a client-sealed EHBP answer: the proxy cannot read it, but it can
 * see the framing, so a body ending inside a frame fails with `broken_framing` instead of ending.
 */
function framingTap(onFirst: () => void): Transform {
  const first = once(onFirst);
  const framing = new EhbpFraming();
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback): void {
      first();
      framing.push(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback): void {
      callback(framing.atBoundary ? null : new IncompleteAnswerError('broken_framing', 'the client-sealed answer ended inside an EHBP frame'));
    },
  });
}

/**
 * join pipes the upstream body into the tap and ties their ends together, as stream.pipeline
 * would: an upstream failure fails the caller's body, and a caller that leaves destroys the
 * upstream body, which aborts the upstream request. Wired by hand because pipeline aborts an
 * internal AbortController at every finish, building a DOMException with a stack each time.
 */
export function join(body: Readable, tap: Transform): void {
  body.pipe(tap);
  // Until the reply takes the tap over, a failure before it was sent must not be an uncaught error.
  tap.on('error', () => undefined);
  body.once('error', (error) => tap.destroy(error));
  // An upstream body that ends early without an error (a cut connection) must not look complete.
  body.once('close', () => {
    if (!body.readableEnded) tap.destroy(new Error('upstream body closed before its end'));
  });
  tap.once('close', () => {
    if (!body.readableEnded && !body.destroyed) body.destroy();
  });
}

function contentType(response: ProviderResponse): string {
  const value = response.headers['content-type'];
  return (Array.isArray(value) ? value.join(',') : value ?? '').toLowerCase();
}

/**
 * relay builds the body the caller receives: the upstream's (already decrypted, or client-sealed)
 * bytes through a tap that meters them without buffering — an SSE usage parser for event streams
 * (which can hide the usage chunk the proxy asked for), a bounded copy for JSON answers, nothing
 * for sealed bodies. Errors of the upstream body propagate to the caller's body.
 */
export function relay(response: ProviderResponse, options: RelayOptions): Relayed {
  let bodyUsage: TokenUsage | undefined;
  let contentEvents = 0;
  const setUsage = (u: TokenUsage | undefined): void => {
    bodyUsage = u;
  };
  const type = contentType(response);
  const ok = response.status >= 200 && response.status < 300;
  let tap: Transform;
  if (response.mode === 'passthrough' && ok && response.headers[RESPONSE_NONCE_HEADER.toLowerCase()] !== undefined) {
    tap = framingTap(options.onFirstOutput);
  } else if (response.mode === 'passthrough' || options.route === 'models' || !ok) {
    tap = firstByteTap(options.onFirstOutput);
  } else if (type.includes('text/event-stream') && STREAM_ROUTES.has(options.route)) {
    tap = createSseUsageTransform(
      {
        route: options.route as StreamRoute, hideUsageChunk: options.hideUsageChunk, onFirstContent: options.onFirstOutput,
        onContentEvents: (count) => { contentEvents = count; },
      },
      setUsage,
    );
  } else if (type.includes('json')) {
    tap = jsonTap(options.route, setUsage, options.onFirstOutput);
  } else {
    tap = firstByteTap(options.onFirstOutput);
  }
  join(response.body, tap);
  let incomplete: IncompleteReason | undefined;
  tap.once('error', (error) => {
    incomplete = incompleteReason(error);
    options.onIncomplete?.(incomplete);
  });
  return {
    body: tap,
    usage: () => tinfoilUsageFrom(response.trailers(), response.headers) ?? bodyUsage,
    incomplete: () => incomplete,
    contentEvents: () => contentEvents,
  };
}
