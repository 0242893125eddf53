import { afterEach, describe, expect, it } from 'vitest';
import { serveJson, startAttestationServer, type AttestationServer } from '../../test/fixtures/attestation-server.ts';
import { attestationUrl, fetchAttestationBundle } from './fetch-bundle.ts';
import { AttestationFailure } from './types.ts';

let server: AttestationServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(handler: Parameters<typeof startAttestationServer>[0]): Promise<AttestationServer> {
  server = await startAttestationServer(handler);
  return server;
}

async function fetchFailure(bundleUrl: string, options: Parameters<typeof fetchAttestationBundle>[1] = {}): Promise<AttestationFailure> {
  const error: unknown = await fetchAttestationBundle(bundleUrl, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AttestationFailure);
  expect((error as AttestationFailure).step).toBe('fetch');
  return error as AttestationFailure;
}

describe('attestationUrl', () => {
  it.each([
    ['https://atc.tinfoil.sh', 'https://atc.tinfoil.sh/attestation'],
    ['https://atc.tinfoil.sh/', 'https://atc.tinfoil.sh/attestation'],
    ['http://127.0.0.1:8080/base', 'http://127.0.0.1:8080/base/attestation'],
    ['http://127.0.0.1:8080/base/', 'http://127.0.0.1:8080/base/attestation'],
  ])('%s → %s', (base, expected) => {
    expect(attestationUrl(base).href).toBe(expected);
  });
});

describe('fetchAttestationBundle', () => {
  it('GETs /attestation and parses the JSON', async () => {
    const { url } = await serve(serveJson({ hello: 'bundle' }));
    expect(await fetchAttestationBundle(url)).toEqual({ hello: 'bundle' });
  });

  it('uses the injected fetch', async () => {
    const seen: string[] = [];
    const fake: typeof fetch = (input) => {
      seen.push(input instanceof URL ? input.href : JSON.stringify(input));
      return Promise.resolve(Response.json({ ok: true }));
    };
    expect(await fetchAttestationBundle('https://atc.example', { fetch: fake })).toEqual({ ok: true });
    expect(seen).toEqual(['https://atc.example/attestation']);
  });

  it('names the HTTP status of an error answer', async () => {
    const { url } = await serve((_req, res) => res.writeHead(500).end('boom'));
    const failure = await fetchFailure(url);
    expect(failure.message).toContain(`GET ${url}/attestation answered HTTP 500`);
  });

  it('rejects a body that is not JSON', async () => {
    const { url } = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
    expect((await fetchFailure(url)).message).toContain('not JSON');
  });

  it('times out on a server that never answers', async () => {
    const { url } = await serve(() => undefined);
    const started = Date.now();
    const failure = await fetchFailure(url, { timeoutMs: 200 });
    expect(failure.message).toContain('timed out after 200 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('times out on a server that stops in the middle of the body', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    });
    expect((await fetchFailure(url, { timeoutMs: 200 })).message).toContain('timed out after 200 ms');
  });

  it('refuses a body over the limit, announced or streamed', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(4096) });
    const announced = await serve((_req, res) => res.writeHead(200, { 'content-length': Buffer.byteLength(big) }).end(big));
    expect((await fetchFailure(announced.url, { maxBytes: 1024 })).message).toContain('announced');
    announced.respond((_req, res) => {
      res.writeHead(200); // chunked: no content-length to trust
      res.write(big.slice(0, 2048));
      res.end(big.slice(2048));
    });
    expect((await fetchFailure(announced.url, { maxBytes: 1024 })).message).toContain('more than the 1024-byte limit');
  });

  it('reports a refused connection with its code', async () => {
    const closed = await startAttestationServer(serveJson({}));
    await closed.close();
    expect((await fetchFailure(closed.url)).message).toContain('ECONNREFUSED');
  });

  it("stops when the caller's signal aborts", async () => {
    const { url } = await serve(() => undefined);
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 50);
    expect((await fetchFailure(url, { signal: controller.signal, timeoutMs: 10_000 })).message).toContain('aborted by the caller');
  });
});
