import { Transform, type TransformCallback } from 'node:stream';
import { IncompleteAnswerError } from './completeness.ts';
import type { TokenUsage } from './types.ts';
import { inspectEvent, type StreamRoute } from './sse-events.ts';

export type { StreamRoute } from './sse-events.ts';

/** SseUsageOptions configures one stream's usage tap. */
export interface SseUsageOptions {
  readonly route: StreamRoute;
  /**
   * hideUsageChunk drops the usage-only chunk (empty `choices`, a `usage`) from the bytes passed
   * on. Set it when the proxy added `stream_options.include_usage` itself, so the caller receives
   * exactly the stream it asked for.
   */
  readonly hideUsageChunk?: boolean;
  /** maxEventBytes bounds how much of one event is kept to read it (default 16 MiB); larger events pass through unread. */
  readonly maxEventBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024;
// A usage-only chunk is a few hundred bytes. An event held longer than this cannot be one, so it
// is released early instead of delaying (and buffering) a large content event.
const HOLD_LIMIT_BYTES = 64 * 1024;

/** LineEndTarget says where the LF of a CRLF split across two chunks belongs. */
type LineEndTarget = 'none' | 'event' | 'out' | 'drop';

/** lineEnd finds the next CR or LF at or after `from`, or -1. */
function lineEnd(buf: Buffer, from: number): number {
  const lf = buf.indexOf(LF, from);
  const cr = buf.indexOf(CR, from);
  if (lf === -1) return cr;
  return cr === -1 ? lf : Math.min(lf, cr);
}

/** toBuffer views a chunk as bytes without copying. */
function toBuffer(chunk: Uint8Array | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** joined returns the bytes as one buffer, copying only when there are several. */
function joined(parts: readonly Buffer[]): Buffer {
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
}

/**
 * SseUsageParser is an incremental parser of an OpenAI server-sent event stream that passes the
 * bytes on and notes the usage. Feed it chunks split anywhere (inside a line, a CRLF or a UTF-8
 * character); it returns the bytes to send on, which are the input, byte for byte, minus the
 * usage-only event when `hideUsageChunk` is set. Line and event rules follow the WHATWG HTML
 * "server-sent events" parsing algorithm (CRLF, LF or CR line ends; `data:` lines joined by LF).
 * It never throws on what the upstream sends.
 */
export class SseUsageParser {
  readonly #route: StreamRoute;
  readonly #hide: boolean;
  readonly #maxEventBytes: number;
  #usage: TokenUsage | undefined;
  #usageFinal = false;
  #contentSeen = false;
  #contentEvents = 0;
  #complete = false;
  #ending = false;
  // The line being read: its bytes (kept only while the event is small enough) and its length.
  #lineParts: Buffer[] = [];
  #lineBytes = 0;
  #eventBytes = 0;
  // The event being read.
  #eventName = '';
  #dataLines: string[] = [];
  // Bytes of the current event held back while it may still be dropped.
  #holding: boolean;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #afterCR: LineEndTarget = 'none';

  constructor(options: SseUsageOptions) {
    this.#route = options.route;
    this.#hide = options.hideUsageChunk === true && options.route !== 'responses';
    this.#maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.#holding = this.#hide;
  }

  /** usage is the latest usage seen, if any. */
  get usage(): TokenUsage | undefined {
    return this.#usage;
  }

  /** usageFinal says the stream's final usage has been seen: no later event will change it. */
  get usageFinal(): boolean {
    return this.#usageFinal;
  }

  /** contentSeen says an event with generated output has passed. */
  get contentSeen(): boolean {
    return this.#contentSeen;
  }

  /** contentEvents counts the events with generated output that passed: about one token each, a floor for a cut stream's charge. */
  get contentEvents(): number {
    return this.#contentEvents;
  }

  /**
   * complete says the stream's final event (`data: [DONE]`, or the Responses API's
   * `response.completed`/`.incomplete`/`.failed`/`error`) has been dispatched by its blank line.
   * An event left unterminated at the end does not count: a client discards it (WHATWG HTML
   * §9.2.6, "pending data must be discarded"), so the stream was cut.
   */
  get complete(): boolean {
    return this.#complete;
  }

  /** push reads one chunk and returns the bytes to send on now (possibly none). */
  push(chunk: Uint8Array | string): Buffer {
    const buf = toBuffer(chunk);
    const out: Buffer[] = [];
    let pos = this.#continueCRLF(buf, out);
    while (pos < buf.length) {
      const end = lineEnd(buf, pos);
      if (end === -1) {
        this.#appendLine(buf.subarray(pos));
        this.#toEvent(buf.subarray(pos), out);
        break;
      }
      let next = end + 1;
      const crAtEnd = buf[end] === CR && next === buf.length;
      if (buf[end] === CR && buf[next] === LF) next += 1;
      this.#appendLine(buf.subarray(pos, end));
      this.#toEvent(buf.subarray(pos, next), out);
      const target = this.#endLine(out);
      if (crAtEnd) this.#afterCR = target;
      pos = next;
    }
    return joined(out);
  }

  /**
   * end finishes the stream: an unterminated last event is read (for its usage) and its bytes are
   * returned as they came, unless it is a usage-only event to hide.
   */
  end(): Buffer {
    const out: Buffer[] = [];
    this.#afterCR = 'none';
    this.#ending = true;
    if (this.#lineBytes > 0) this.#endLine(out);
    this.#finishEvent(out);
    return joined(out);
  }

  /** continueCRLF places an LF that completes a CR ending the previous chunk; it returns where reading resumes. */
  #continueCRLF(buf: Buffer, out: Buffer[]): number {
    if (this.#afterCR === 'none' || buf.length === 0) return 0;
    const target = this.#afterCR;
    this.#afterCR = 'none';
    if (buf[0] !== LF) return 0;
    const lf = buf.subarray(0, 1);
    if (target === 'event') this.#toEvent(lf, out);
    else if (target === 'out') out.push(lf);
    return 1;
  }

  /** appendLine keeps a piece of the current line while the event is small enough to read. */
  #appendLine(bytes: Buffer): void {
    this.#lineBytes += bytes.length;
    this.#eventBytes += bytes.length;
    // Copied, because a partial line outlives the chunk it came in.
    if (this.#eventBytes <= this.#maxEventBytes) this.#lineParts.push(Buffer.from(bytes));
    else this.#lineParts = [];
  }

  /** toEvent sends on or holds bytes that belong to the current event. */
  #toEvent(bytes: Buffer, out: Buffer[]): void {
    if (!this.#holding) {
      out.push(bytes);
      return;
    }
    this.#held.push(Buffer.from(bytes));
    this.#heldBytes += bytes.length;
    if (this.#heldBytes > HOLD_LIMIT_BYTES) this.#release(out);
  }

  /** release sends on the held bytes and stops holding for the rest of the event. */
  #release(out: Buffer[]): void {
    out.push(...this.#held);
    this.#held = [];
    this.#heldBytes = 0;
    this.#holding = false;
  }

  /** endLine reads a finished line; a blank one ends the event. It returns where a split CRLF's LF goes. */
  #endLine(out: Buffer[]): LineEndTarget {
    const parts = this.#lineParts;
    const blank = this.#lineBytes === 0;
    this.#lineParts = [];
    this.#lineBytes = 0;
    if (blank) return this.#finishEvent(out);
    if (this.#eventBytes <= this.#maxEventBytes) this.#readField(Buffer.concat(parts).toString('utf8'));
    return 'event';
  }

  /** readField applies one `field: value` line; comments (`:`) and unknown fields are ignored. */
  #readField(line: string): void {
    if (line === '' || line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#dataLines.push(value);
    else if (field === 'event') this.#eventName = value;
  }

  /** finishEvent dispatches the current event and sends on or drops its bytes. */
  #finishEvent(out: Buffer[]): LineEndTarget {
    const drop = this.#dispatch() && this.#holding;
    if (drop) {
      this.#held = [];
      this.#heldBytes = 0;
    } else {
      this.#release(out);
    }
    this.#holding = this.#hide;
    this.#eventName = '';
    this.#dataLines = [];
    this.#eventBytes = 0;
    return drop ? 'drop' : 'out';
  }

  /** dispatch reads the finished event's data; it returns whether the event is one to hide. */
  #dispatch(): boolean {
    if (this.#dataLines.length === 0 || this.#eventBytes > this.#maxEventBytes) return false;
    const facts = inspectEvent(this.#route, this.#eventName, this.#dataLines.join('\n'));
    if (facts.content) {
      this.#contentSeen = true;
      this.#contentEvents += 1;
    }
    if (facts.terminal && !this.#ending) this.#complete = true;
    if (facts.usage !== undefined) {
      this.#usage = facts.usage;
      this.#usageFinal ||= facts.final;
    }
    return this.#hide && facts.usageOnly;
  }
}

/** SseUsageTransformOptions adds a first-output callback to the parser's options. */
export interface SseUsageTransformOptions extends SseUsageOptions {
  /** onFirstContent is called once, when the first event with generated output passes (for TTFT). */
  readonly onFirstContent?: () => void;
  /** onContentEvents hears the count of content events so far, after each chunk that added some. */
  readonly onContentEvents?: (count: number) => void;
}

/**
 * createSseUsageTransform wraps an SseUsageParser in a Transform for the response pipeline. It
 * calls `onUsage` once: when the final usage event passes, or at the end of the stream with the
 * last usage seen. A stream that ends without its final event fails, after its last bytes, with an
 * IncompleteAnswerError (`missing_final_event`), so the caller never sees a cut stream end cleanly.
 * A callback that throws fails the stream with its error.
 */
export function createSseUsageTransform(options: SseUsageTransformOptions, onUsage: (usage: TokenUsage) => void): Transform {
  const parser = new SseUsageParser(options);
  let reported = false;
  let contentReported = false;
  let contentCounted = 0;
  const notify = (ending: boolean): void => {
    if (parser.contentEvents !== contentCounted) {
      contentCounted = parser.contentEvents;
      options.onContentEvents?.(contentCounted);
    }
    if (!contentReported && parser.contentSeen) {
      contentReported = true;
      options.onFirstContent?.();
    }
    const usage = parser.usage;
    if (!reported && usage !== undefined && (ending || parser.usageFinal)) {
      reported = true;
      onUsage(usage);
    }
  };
  const step = (read: () => Buffer, ending: boolean, callback: TransformCallback): void => {
    try {
      const bytes = read();
      notify(ending);
      callback(null, bytes.length > 0 ? bytes : undefined);
    } catch (err) {
      callback(err as Error);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback): void {
      step(() => parser.push(chunk), false, callback);
    },
    flush(callback): void {
      step(() => parser.end(), true, (error, bytes?: Buffer) => {
        if (error || parser.complete) {
          callback(error, bytes);
          return;
        }
        if (bytes !== undefined) this.push(bytes);
        callback(new IncompleteAnswerError('missing_final_event', `the ${options.route} event stream ended without its final event`));
      });
    },
  });
}
