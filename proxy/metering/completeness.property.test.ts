import { createCipheriv, randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DecryptingStream } from '../ehbp/client.ts';
import { sequenceNonce } from '../ehbp/hpke.ts';
import { EhbpFraming, JsonEnvelope } from './completeness.ts';
import { createSseUsageTransform, type StreamRoute } from './sse.ts';

// For every cut position and every chunking of an answer, the reader yields either the whole
// answer or an error, never a silently short one. Seeded PRNG, bounded iterations.

/** mulberry32 is a small seeded PRNG, so a failure reproduces. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** chunked splits bytes at random points. */
function chunked(bytes: Buffer, rand: () => number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const size = 1 + Math.floor(rand() * 40);
    out.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

/** read pipes chunks through the transforms and returns the output, or the error. */
async function read(chunks: Buffer[], transforms: Transform[]): Promise<Buffer | Error> {
  const out: Buffer[] = [];
  try {
    // pipeline's typed overloads take a fixed number of stages; this one takes one or two transforms.
    const run = pipeline as (...stages: unknown[]) => Promise<void>;
    await run(Readable.from(chunks), ...transforms, async (source: AsyncIterable<Buffer>) => {
      for await (const b of source) out.push(b);
    });
    return Buffer.concat(out);
  } catch (error) {
    return error as Error;
  }
}

const sse = (data: unknown, name?: string): string => `${name === undefined ? '' : `event: ${name}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const CHAT = [
  sse({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }),
  ...['Hé', 'llo', ' 🌍', ' world'].map((t) => sse({ choices: [{ index: 0, delta: { content: t } }] })),
  sse({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } }),
  sse('[DONE]'),
];
const RESPONSES = [
  sse({ type: 'response.created' }, 'response.created'),
  ...['a', 'b c'].map((d) => sse({ type: 'response.output_text.delta', delta: d }, 'response.output_text.delta')),
  sse({ type: 'response.completed', response: { usage: { input_tokens: 1, output_tokens: 2 } } }, 'response.completed'),
];
const STREAMS: readonly (readonly [StreamRoute, readonly string[]])[] = [['chat/completions', CHAT], ['responses', RESPONSES]];

/** seal frames each event as the enclave does: 4-byte length, AES-256-GCM under base XOR seq. */
function seal(events: readonly string[], key: Buffer, nonceBase: Buffer): { frames: Buffer[]; bytes: Buffer } {
  const frames = events.map((event, seq) => {
    const cipher = createCipheriv('aes-256-gcm', key, sequenceNonce(nonceBase, seq), { authTagLength: 16 });
    const body = Buffer.concat([cipher.update(event, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    return Buffer.concat([head, body]);
  });
  return { frames, bytes: Buffer.concat(frames) };
}

describe('completeness under random cuts and chunkings', () => {
  it('an SSE answer read through the usage tap is whole or an error', async () => {
    const rand = mulberry32(15);
    for (const [route, events] of STREAMS) {
      const whole = Buffer.from(events.join(''), 'utf8');
      for (let i = 0; i < 300; i++) {
        const cut = i === 0 ? whole.length : Math.floor(rand() * whole.length);
        const result = await read(chunked(whole.subarray(0, cut), rand), [createSseUsageTransform({ route }, () => undefined)]);
        if (result instanceof Error) expect(cut).toBeLessThan(whole.length);
        else expect(result.equals(whole)).toBe(true);
      }
    }
  });

  it('an EHBP answer read through DecryptingStream and the usage tap is whole or an error, cut anywhere or at a frame boundary', async () => {
    const rand = mulberry32(1515);
    const key = randomBytes(32);
    const nonceBase = randomBytes(12);
    for (const [route, events] of STREAMS) {
      const { frames, bytes } = seal(events, key, nonceBase);
      const whole = Buffer.from(events.join(''), 'utf8');
      for (let i = 0; i < 300; i++) {
        // Half the cuts fall on a frame boundary (0 frames included): valid framing, short content.
        const cut = i % 2 === 0 ? Buffer.concat(frames.slice(0, Math.floor(rand() * (frames.length + 1)))).length : Math.floor(rand() * (bytes.length + 1));
        const result = await read(chunked(bytes.subarray(0, cut), rand), [new DecryptingStream({ key, nonceBase }), createSseUsageTransform({ route }, () => undefined)]);
        if (result instanceof Error) expect(cut).toBeLessThan(bytes.length);
        else expect(result.equals(whole)).toBe(true);
      }
    }
  });

  it('EhbpFraming is at a boundary exactly after whole frames, however the bytes are chunked', () => {
    const rand = mulberry32(42);
    const { frames, bytes } = seal(['a', '', 'bcd', 'x'.repeat(300)], randomBytes(32), randomBytes(12));
    const boundaries = new Set(frames.map((_, i) => Buffer.concat(frames.slice(0, i + 1)).length).concat([0]));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const framing = new EhbpFraming();
      for (const piece of chunked(bytes.subarray(0, cut), rand)) framing.push(piece);
      expect(framing.atBoundary).toBe(boundaries.has(cut));
    }
  });

  it('JsonEnvelope accepts a whole JSON text and no proper prefix of it', () => {
    const rand = mulberry32(7);
    const text = Buffer.from(JSON.stringify({ object: 'list', data: [{ embedding: [0.1, -2e-3, 3], s: 'a "}]\\ 🌍' }, { n: null, t: true }], usage: { prompt_tokens: 2 } }), 'utf8');
    for (let cut = 0; cut <= text.length; cut++) {
      const envelope = new JsonEnvelope();
      for (const piece of chunked(text.subarray(0, cut), rand)) envelope.push(piece);
      expect(envelope.complete).toBe(cut === text.length);
    }
    const trailing = new JsonEnvelope();
    trailing.push(Buffer.from('{"a":1} {'));
    expect(trailing.complete).toBe(false);
    const scalar = new JsonEnvelope();
    scalar.push(Buffer.from('"text"'));
    expect(scalar.complete).toBe(false);
  });
});
