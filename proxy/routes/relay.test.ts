import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { join } from './relay.ts';

describe('join (upstream body → caller body)', () => {
  it('passes every byte and ends with the upstream', async () => {
    const tap = new PassThrough();
    join(Readable.from([Buffer.from('a'), Buffer.from('b')]), tap);
    expect(await text(tap)).toBe('ab');
  });

  it("fails the caller's body when the upstream body fails", async () => {
    const body = new PassThrough();
    const tap = new PassThrough();
    join(body, tap);
    const read = text(tap);
    body.write('partial');
    body.destroy(new Error('connection reset'));
    await expect(read).rejects.toThrow('connection reset');
  });

  it("fails the caller's body when the upstream body closes before its end", async () => {
    const body = new PassThrough();
    const tap = new PassThrough();
    join(body, tap);
    const read = text(tap);
    body.write('partial');
    body.destroy();
    await expect(read).rejects.toThrow(/closed before its end/);
  });

  it('keeps an upstream failure before the reply took the body from becoming an uncaught error', async () => {
    const body = new PassThrough();
    const tap = new PassThrough();
    join(body, tap);
    body.destroy(new Error('reset before the reply was sent'));
    await new Promise((resolve) => tap.once('close', resolve));
    expect(tap.errored?.message).toBe('reset before the reply was sent');
  });

  it('destroys the upstream body when the caller leaves', async () => {
    const body = new PassThrough();
    const tap = new PassThrough();
    join(body, tap);
    body.write('x');
    tap.destroy();
    await once(body, 'close');
    expect(body.destroyed).toBe(true);
    expect(body.readableEnded).toBe(false);
  });
});
