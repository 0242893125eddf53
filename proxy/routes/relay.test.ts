import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import type { ProviderResponse } from '../upstream/provider.ts';
import { join, relay } from './relay.ts';

/** joined is an upstream body joined to a caller's body, both plain pass-through streams. */
function joined(): { body: PassThrough; tap: PassThrough } {
  const body = new PassThrough();
  const tap = new PassThrough();
  join(body, tap);
  return { body, tap };
}

describe('join (upstream body → caller body)', () => {
  it('passes every byte and ends with the upstream', async () => {
    const tap = new PassThrough();
    join(Readable.from([Buffer.from('a'), Buffer.from('b')]), tap);
    expect(await text(tap)).toBe('ab');
  });

  it("fails the caller's body when the upstream body fails", async () => {
    const { body, tap } = joined();
    const read = text(tap);
    body.write('partial');
    body.destroy(new Error('connection reset'));
    await expect(read).rejects.toThrow('connection reset');
  });

  it("fails the caller's body when the upstream body closes before its end", async () => {
    const { body, tap } = joined();
    const read = text(tap);
    body.write('partial');
    body.destroy();
    await expect(read).rejects.toThrow(/closed before its end/);
  });

  it('keeps an upstream failure before the reply took the body from becoming an uncaught error', async () => {
    const { body, tap } = joined();
    body.destroy(new Error('reset before the reply was sent'));
    await new Promise((resolve) => tap.once('close', resolve));
    expect(tap.errored?.message).toBe('reset before the reply was sent');
  });

  it('destroys the upstream body when the caller leaves', async () => {
    const { body, tap } = joined();
    body.write('x');
    tap.destroy();
    await once(body, 'close');
    expect(body.destroyed).toBe(true);
    expect(body.readableEnded).toBe(false);
  });
});

/** answer is an upstream answer of the given mode and content type carrying `bytes`. */
function answer(mode: ProviderResponse['mode'], type: string, bytes: Buffer, extra: Record<string, string> = {}): ProviderResponse {
  return { mode, status: 200, headers: { 'content-type': type, ...extra }, body: Readable.from([bytes]), announcedTrailers: [], trailers: () => ({}) };
}

describe('relay completeness', () => {
  it('fails a JSON answer that does not parse and says why; a whole one ends and is metered', async () => {
    const reasons: string[] = [];
    const short = relay(answer('encrypted', 'application/json', Buffer.from('{"usage":{"prompt_tokens":1')), { route: 'embeddings', hideUsageChunk: false, onFirstOutput: () => undefined, onIncomplete: (r) => reasons.push(r) });
    await expect(text(short.body)).rejects.toThrow(/not whole JSON/);
    expect(short.incomplete()).toBe('invalid_json');
    expect(reasons).toEqual(['invalid_json']);
    const whole = relay(answer('encrypted', 'application/json', Buffer.from('{"usage":{"prompt_tokens":1}}')), { route: 'embeddings', hideUsageChunk: false, onFirstOutput: () => undefined });
    expect(await text(whole.body)).toContain('usage');
    expect(whole.incomplete()).toBeUndefined();
    expect(whole.usage()).toMatchObject({ inputTokens: 1 });
  });

  it('fails a client-sealed EHBP answer ending inside a frame, passes one of whole frames', async () => {
    const nonce = { 'ehbp-response-nonce': 'ab'.repeat(32) };
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('xyz')]);
    const cut = relay(answer('passthrough', 'text/event-stream', frame.subarray(0, 5), nonce), { route: 'chat/completions', hideUsageChunk: false, onFirstOutput: () => undefined });
    await expect(text(cut.body)).rejects.toThrow(/inside an EHBP frame/);
    expect(cut.incomplete()).toBe('broken_framing');
    const whole = relay(answer('passthrough', 'text/event-stream', frame, nonce), { route: 'chat/completions', hideUsageChunk: false, onFirstOutput: () => undefined });
    expect((await text(whole.body)).length).toBe(frame.length);
  });
});
