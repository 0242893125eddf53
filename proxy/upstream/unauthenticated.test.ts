import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import type { UpstreamResponse } from './http.ts';
import { isSuccess, keptHeaders, MAX_UNAUTHENTICATED_BODY_BYTES, UNAUTHENTICATED_ERROR_CODE, UNAUTHENTICATED_HEADER, unauthenticatedError, unauthenticatedErrorBody } from './unauthenticated.ts';

const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('isSuccess', () => {
  it('is true for 2xx only: the answers EHBP never lets pass unencrypted', () => {
    expect([200, 204, 299].map(isSuccess)).toEqual([true, true, true]);
    expect([199, 300, 401, 429, 503].map(isSuccess)).toEqual([false, false, false, false, false]);
  });
});

describe('unauthenticatedErrorBody', () => {
  it('keeps an OpenAI error object\'s message, type, code and param', () => {
    const body = { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } };
    expect(unauthenticatedErrorBody(429, bytes(body), false)).toEqual(body);
  });

  it('names its own code when the object has none, keeps a null code, and types by status', () => {
    expect(unauthenticatedErrorBody(503, bytes({ error: { message: 'down' } }), false).error).toEqual({ message: 'down', type: 'server_error', param: null, code: UNAUTHENTICATED_ERROR_CODE });
    expect(unauthenticatedErrorBody(401, bytes({ error: { message: 'no', type: 7, code: null } }), false).error).toMatchObject({ type: 'invalid_request_error', code: null });
  });

  it('wraps plain text, a JSON `error` string and an empty body, saying the answer was unauthenticated', () => {
    const wrapped = unauthenticatedErrorBody(401, bytes('Unauthorized\n'), false).error;
    expect(wrapped).toEqual({ message: 'The upstream answered HTTP 401 without EHBP encryption; this error is unauthenticated: Unauthorized', type: 'invalid_request_error', param: null, code: UNAUTHENTICATED_ERROR_CODE });
    expect(unauthenticatedErrorBody(429, bytes({ error: 'slow down' }), false).error.message).toMatch(/unauthenticated: slow down$/);
    expect(unauthenticatedErrorBody(502, Buffer.alloc(0), false).error.message).toBe('The upstream answered HTTP 502 without EHBP encryption; this error is unauthenticated');
  });

  it('flattens control characters and clips what it keeps, so a forged body cannot shape logs or grow the answer', () => {
    const forged = unauthenticatedErrorBody(400, bytes({ error: { message: `line\n\u001b[31mred${'x'.repeat(10_000)}`, type: 'y'.repeat(500), code: 'c' } }), false).error;
    expect(forged.message).not.toMatch(/\p{Cc}/u);
    expect(forged.message.length).toBeLessThanOrEqual(2048);
    expect(forged.type.length).toBeLessThanOrEqual(128);
  });

  it('does not parse a cut body: it is wrapped and said to be cut', () => {
    const message = unauthenticatedErrorBody(503, bytes({ error: { message: 'whole' } }), true).error.message;
    expect(message).toContain(`(cut at ${String(MAX_UNAUTHENTICATED_BODY_BYTES)} bytes)`);
  });
});

describe('keptHeaders', () => {
  it('keeps Retry-After, retry-after-ms and x-ratelimit-*, and drops every other header (framing included)', () => {
    expect(keptHeaders({
      'retry-after': '1', 'retry-after-ms': '1000', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-tokens': '1s',
      'content-length': '42', 'content-encoding': 'gzip', 'set-cookie': ['a=b'], 'x-should-retry': 'true', location: 'http://elsewhere',
    })).toEqual({ 'retry-after': '1', 'retry-after-ms': '1000', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-tokens': '1s' });
  });
});

describe('unauthenticatedError', () => {
  function endless(): { body: Readable; pulled: () => number } {
    let pulled = 0;
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const body = new Readable({
      read(): void {
        pulled += chunk.length;
        this.push(chunk);
      },
    });
    return { body, pulled: () => pulled };
  }

  it('reads at most the bound of an endless body, stops it, and answers a small OpenAI error marked unauthenticated', async () => {
    const source = endless();
    const response: UpstreamResponse = { status: 503, headers: { 'retry-after': '3', 'content-length': '999999999' }, body: source.body, trailers: {} };
    const relayed = await unauthenticatedError(response, '/v1/chat/completions', 'sha256:abc');
    expect(source.pulled()).toBeLessThanOrEqual(MAX_UNAUTHENTICATED_BODY_BYTES + 64 * 1024);
    expect(source.body.destroyed).toBe(true);
    expect(relayed).toMatchObject({ mode: 'encrypted', status: 503, unauthenticated: true, releaseDigest: 'sha256:abc' });
    expect(relayed.headers).toEqual({ 'retry-after': '3', 'content-type': 'application/json', [UNAUTHENTICATED_HEADER]: 'true' });
    const answer = JSON.parse(await text(relayed.body)) as { error: { message: string; code: string } };
    expect(answer.error.code).toBe(UNAUTHENTICATED_ERROR_CODE);
    expect(answer.error.message.length).toBeLessThanOrEqual(2048);
  });

  it('turns a body that breaks off into an upstream error', async () => {
    const body = new Readable({ read(): void { this.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' })); } });
    await expect(unauthenticatedError({ status: 429, headers: {}, body, trailers: {} }, '/v1/embeddings', 'd')).rejects.toMatchObject({ kind: 'reset' });
  });
});
