/**
 * Completeness of an upstream answer. EHBP authenticates every frame but not the end of the
 * stream, and plain HTTP from an unattested upstream authenticates nothing: a body can end cleanly
 * after any whole frame or byte. So the proxy judges completeness from the content — an SSE answer
 * ends with its final event, a JSON answer parses — and fails the caller's body otherwise.
 */

import { ProxyError } from '../errors.ts';

/**
 * IncompleteReason says why an answer is short: `missing_final_event` (an event stream ended
 * before `data: [DONE]` or the Responses API's final event), `invalid_json` (a JSON answer that
 * does not parse), `broken_framing` (a client-sealed EHBP body ending inside a frame),
 * `upstream_error` (the upstream body failed or closed before its end).
 */
export type IncompleteReason = 'missing_final_event' | 'invalid_json' | 'broken_framing' | 'upstream_error';

/**
 * IncompleteAnswerError fails the caller's body when the upstream's answer is known to be short.
 * Once the answer's head was sent the connection is reset; before (nothing came at all), the caller
 * gets a 502 `upstream_protocol_error` naming what was missing.
 */
export class IncompleteAnswerError extends ProxyError {
  readonly reason: IncompleteReason;

  constructor(reason: IncompleteReason, message: string) {
    super('upstream_protocol_error', message);
    this.name = 'IncompleteAnswerError';
    this.reason = reason;
  }
}

/** incompleteReason classifies an error that failed a caller's body. */
export function incompleteReason(error: unknown): IncompleteReason {
  return error instanceof IncompleteAnswerError ? error.reason : 'upstream_error';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x7b, 0x5b]); // { [
const CLOSE = new Set([0x7d, 0x5d]); // } ]
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]); // RFC 8259 §2

/**
 * JsonEnvelope follows the bracket structure of a JSON text too large to keep and parse: a text
 * whose top level is one object or array is complete once its brackets balance, outside strings,
 * with only whitespace after. It checks the envelope, not the grammar (a cut anywhere inside leaves
 * a bracket open or a string unclosed); small answers are parsed in full instead.
 */
export class JsonEnvelope {
  #depth = 0;
  #started = false;
  #closed = false;
  #broken = false;
  #inString = false;
  #escaped = false;

  /** push reads the next bytes of the text. */
  push(bytes: Uint8Array): void {
    for (const byte of bytes) {
      if (this.#broken) return;
      this.#step(byte);
    }
  }

  /** complete says the text read so far is one whole top-level object or array. */
  get complete(): boolean {
    return this.#closed && !this.#broken;
  }

  #step(byte: number): void {
    if (this.#inString) {
      this.#stepInString(byte);
      return;
    }
    if (WHITESPACE.has(byte)) return;
    if (this.#closed || (!this.#started && !OPEN.has(byte))) {
      this.#broken = true;
      return;
    }
    this.#started = true;
    if (byte === QUOTE) this.#inString = true;
    else if (OPEN.has(byte)) this.#depth += 1;
    else if (CLOSE.has(byte)) {
      this.#depth -= 1;
      if (this.#depth === 0) this.#closed = true;
    }
  }

  /** stepInString reads a byte inside a string: only an unescaped quote ends it. */
  #stepInString(byte: number): void {
    if (this.#escaped) this.#escaped = false;
    else if (byte === BACKSLASH) this.#escaped = true;
    else if (byte === QUOTE) this.#inString = false;
  }
}

const FRAME_HEADER = 4;

/**
 * EhbpFraming follows the frames of a client-sealed EHBP body (4-byte big-endian length, then the
 * ciphertext; SPEC.md §4.3) without opening them: the proxy holds no key for it, so it can tell a
 * body ending inside a frame, not one ending after a whole frame — that the client judges itself.
 */
export class EhbpFraming {
  readonly #header = Buffer.alloc(FRAME_HEADER);
  #headerBytes = 0;
  #remaining = 0;

  /** push reads the next bytes of the body. */
  push(bytes: Buffer): void {
    let pos = 0;
    while (pos < bytes.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, bytes.length - pos);
        this.#remaining -= take;
        pos += take;
        continue;
      }
      const take = Math.min(FRAME_HEADER - this.#headerBytes, bytes.length - pos);
      bytes.copy(this.#header, this.#headerBytes, pos, pos + take);
      this.#headerBytes += take;
      pos += take;
      if (this.#headerBytes === FRAME_HEADER) {
        this.#remaining = this.#header.readUInt32BE(0);
        this.#headerBytes = 0;
      }
    }
  }

  /** atBoundary says the bytes read so far are whole frames. */
  get atBoundary(): boolean {
    return this.#headerBytes === 0 && this.#remaining === 0;
  }
}
