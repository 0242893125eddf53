import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { join } from './relay.ts';

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
