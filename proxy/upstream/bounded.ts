import { Readable } from 'node:stream';

/** Peeked is the start of a body read up to a bound, and the whole body, still readable from its first byte. */
export interface Peeked {
  /** head is the body when `complete`, else its first bytes (more than the bound). */
  readonly head: Buffer;
  /** complete tells whether the body ended within the bound. */
  readonly complete: boolean;
  /** body replays `head`, then streams the rest; destroying it stops the original. */
  readonly body: Readable;
}

/**
 * peekBody reads at most a little over `limit` bytes of `body`, so a decision can be made on a
 * small answer (a problem document) without buffering a large or endless one. What was read is
 * kept and handed on, so the caller still receives the answer byte for byte.
 */
export async function peekBody(body: Readable, limit: number): Promise<Peeked> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size <= limit) {
    const next = await iterator.next();
    if (next.done === true) {
      done = true;
      break;
    }
    chunks.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(chunks, size);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      while (!done) {
        const next = await iterator.next();
        if (next.done === true) {
          done = true;
          return;
        }
        yield next.value;
      }
    } finally {
      if (!done) await iterator.return?.();
    }
  }
  return { head, complete: done, body: Readable.from(replay(), { objectMode: false }) };
}

/** readBounded reads a whole body of at most `limit` bytes; a longer one is destroyed unread and undefined returned. */
export async function readBounded(body: Readable, limit: number): Promise<Buffer | undefined> {
  const peeked = await peekBody(body, limit);
  if (peeked.complete) return peeked.head;
  peeked.body.destroy();
  body.destroy();
  return undefined;
}

/**
 * discard stops reading a body the caller will never get: destroying an undici body emits an
 * abort error, which without a listener would be an uncaught exception; the error says nothing
 * the caller needs, so it is swallowed here.
 */
export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}
