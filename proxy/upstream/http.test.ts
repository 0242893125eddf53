import { errors as undiciErrors } from 'undici';
import { describe, expect, it } from 'vitest';
import { forwardableRequestHeaders, forwardableResponseHeaders, toUpstreamError, UpstreamError } from './http.ts';

describe('upstream HTTP hygiene', () => {
  it('never forwards the caller\'s credentials or hop-by-hop headers', () => {
    const out = forwardableRequestHeaders({
      authorization: 'Bearer caller',
      'x-api-key': 'k',
      'api-key': 'k',
      cookie: 'c',
      connection: 'keep-alive, x-custom-hop',
      'x-custom-hop': 'drop me',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      te: 'trailers',
      upgrade: 'h2c',
      host: 'proxy.local',
      'content-length': '10',
      'proxy-authorization': 'p',
      'content-type': 'application/json',
      'ehbp-encapsulated-key': 'ab',
      'x-request-id': 'r1',
      accept: ['a', 'b'] as unknown as string,
    });
    expect(out).toEqual({ 'content-type': 'application/json', 'ehbp-encapsulated-key': 'ab', 'x-request-id': 'r1', accept: 'a, b' });
  });

  it('passes the upstream\'s end-to-end headers, EHBP ones included, and drops hop-by-hop ones', () => {
    const out = forwardableResponseHeaders({ 'content-type': 'text/event-stream', 'ehbp-response-nonce': 'n', connection: 'close', 'transfer-encoding': 'chunked', 'set-cookie': ['a=b'], trailer: 'X-Tinfoil-Usage-Metrics', 'content-length': '5' }, ['content-length']);
    expect(out).toEqual({ 'content-type': 'text/event-stream', 'ehbp-response-nonce': 'n' });
  });

  it('maps transport failures to typed errors in one place', () => {
    const refused = toUpstreamError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'POST /v1/x');
    expect(refused).toMatchObject({ kind: 'unreachable', code: 'upstream_unreachable', retriable: true });
    expect(refused.status).toBe(502);
    const timeout = toUpstreamError(new undiciErrors.HeadersTimeoutError(), 'POST /v1/x');
    expect(timeout).toMatchObject({ kind: 'timeout', code: 'upstream_timeout', retriable: false });
    expect(timeout.status).toBe(504);
    expect(toUpstreamError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'x')).toMatchObject({ kind: 'reset', retriable: false });
    expect(toUpstreamError(new Error('weird'), 'x')).toMatchObject({ kind: 'protocol', code: 'upstream_protocol_error' });
    const already = new UpstreamError('key_mismatch', 'stale');
    expect(toUpstreamError(already, 'x')).toBe(already);
    expect(already.retriable).toBe(true);
  });
});
