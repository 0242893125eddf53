import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { CipherSuite } from 'hpke';
import { AEAD_AES_256_GCM, KDF_HKDF_SHA256, KEM_DHKEM_X25519_HKDF_SHA256 } from '@panva/hpke-noble';
import { deriveResponseKeys, encryptChunk, EXPORT_LABEL, HPKE_REQUEST_INFO, Identity } from 'ehbp';
import type { AttestationManager } from '../attestation/manager.ts';
import { createRecipient } from '../ehbp/client.ts';
import type { UpstreamClient, UpstreamResponse } from './http.ts';
import { createKeyPool, type KeyPool } from './key-pool.ts';
import type { ProviderRequest } from './provider.ts';
import { createTinfoilProvider } from './tinfoil.ts';
import { UNAUTHENTICATED_HEADER } from './unauthenticated.ts';

/**
 * The Tinfoil provider against a scripted enclave (the reference `ehbp` primitives on the enclave
 * side): what it sends for a sealed request, and what it makes of each kind of answer under the
 * EHBP 0.3 rules (nonce → decrypt; no nonce and non-2xx → unauthenticated error; no nonce and 2xx →
 * protocol failure; client-sealed → as it came).
 */

const suite = new CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_256_GCM);
const RELEASE = 'sha256:release';
const keysOf = (...keys: string[]): KeyPool => createKeyPool(() => keys);

interface Sent {
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  readonly signal?: AbortSignal;
}

/** Scripted is one answer of the scripted enclave. */
interface Scripted {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer | Readable;
}

type Answer = (sent: Sent, seal: (plaintext: string) => Promise<{ nonceHex: string; body: Buffer }>) => Promise<Scripted> | Scripted;

async function scripted(answer: Answer): Promise<{ client: UpstreamClient; sent: Sent[]; bodies: Readable[]; attestation: AttestationManager }> {
  const identity = await Identity.generate();
  const recipient = createRecipient(await identity.getPublicKeyHex());
  const sent: Sent[] = [];
  const bodies: Readable[] = [];
  const client: UpstreamClient = {
    async send(request): Promise<UpstreamResponse> {
      sent.push({ headers: request.headers, body: request.body, signal: request.signal });
      const seal = async (plaintext: string): Promise<{ nonceHex: string; body: Buffer }> => {
        const encHex = request.headers['ehbp-encapsulated-key'] ?? '';
        const enc = Buffer.from(encHex, 'hex');
        const ctx = await suite.SetupRecipient(identity.getPrivateKey(), enc, { info: new TextEncoder().encode(HPKE_REQUEST_INFO) });
        const nonce = randomBytes(32);
        const km = await deriveResponseKeys(await ctx.Export(new TextEncoder().encode(EXPORT_LABEL), 32), enc, nonce);
        const ct = Buffer.from(await encryptChunk(km, 0, Buffer.from(plaintext)));
        const header = Buffer.alloc(4);
        header.writeUInt32BE(ct.length);
        return { nonceHex: nonce.toString('hex'), body: Buffer.concat([header, ct]) };
      };
      const { status, headers, body } = await answer(sent.at(-1)!, seal);
      const readable = Buffer.isBuffer(body) ? Readable.from([body], { objectMode: false }) : body;
      bodies.push(readable);
      return { status, headers, body: readable, trailers: {} };
    },
    close: () => Promise.resolve(),
  };
  const attestation = {
    require: () => ({ recipient, result: { releaseDigest: RELEASE } }),
    reattestOnDemand: () => Promise.resolve({ status: 'pending' }),
  } as unknown as AttestationManager;
  return { client, sent, bodies, attestation };
}

const request = (body: string, extra: { passthrough?: boolean; headers?: Record<string, string> } = {}): ProviderRequest => ({
  method: 'POST' as const, path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...extra.headers },
  body: Buffer.from(body), passthrough: extra.passthrough ?? false, signal: new AbortController().signal,
});

describe('the Tinfoil provider under EHBP 0.3', () => {
  it('seals the body, keeps the caller\'s headers and cancellation, and sends no EHBP-managed framing of its own (§5.1)', async () => {
    const { client, sent, attestation } = await scripted(async (_sent, seal) => {
      const sealed = await seal('{"ok":true}');
      return { status: 200, headers: { 'ehbp-response-nonce': sealed.nonceHex }, body: sealed.body };
    });
    const provider = createTinfoilProvider({ client, attestation, keys: keysOf('sk-provider') });
    const call = request('{"model":"m"}', { headers: { 'x-caller-trace': 'abc', 'openai-beta': 'assistants=v2' } });
    await provider.send(call);
    const [first] = sent;
    expect(first?.headers).toMatchObject({ 'x-caller-trace': 'abc', 'openai-beta': 'assistants=v2', authorization: 'Bearer sk-provider' });
    expect(first?.headers['ehbp-encapsulated-key']).toMatch(/^[0-9a-f]{64}$/);
    expect(first?.headers['content-length']).toBeUndefined();
    expect(first?.body?.length).toBe(Buffer.byteLength('{"model":"m"}') + 4 + 16);
    expect(first?.signal).toBe(call.signal);
  });

  it('drops the encrypted body\'s framing headers from a decrypted answer (Content-Length, the nonce)', async () => {
    const { client, attestation } = await scripted(async (_sent, seal) => {
      const sealed = await seal('{"choices":[]}');
      return { status: 200, headers: { 'ehbp-response-nonce': sealed.nonceHex, 'content-length': String(sealed.body.length), 'content-type': 'application/json', 'x-kept': '1' }, body: sealed.body };
    });
    const answer = await createTinfoilProvider({ client, attestation, keys: keysOf('k') }).send(request('{}'));
    expect(answer.headers).toEqual({ 'content-type': 'application/json', 'x-kept': '1' });
    expect(await text(answer.body)).toBe('{"choices":[]}');
    expect(answer.unauthenticated).toBeUndefined();
  });

  it('relays an un-nonced 429 as an unauthenticated error', async () => {
    const { client, attestation } = await scripted(() => ({
      status: 429, headers: { 'retry-after': '2', 'content-length': '21', 'x-router': 'r' }, body: Buffer.from('{"error":"slow down"}'),
    }));
    const answer = await createTinfoilProvider({ client, attestation, keys: keysOf('k') }).send(request('{}'));
    expect(answer).toMatchObject({ status: 429, mode: 'encrypted', unauthenticated: true, releaseDigest: RELEASE });
    expect(answer.headers).toEqual({ 'retry-after': '2', 'content-type': 'application/json', [UNAUTHENTICATED_HEADER]: 'true' });
    expect(JSON.parse(await text(answer.body))).toMatchObject({ error: { code: 'upstream_unauthenticated_error', message: expect.stringMatching(/slow down$/) as unknown } });
  });

  it('fails an un-nonced 2xx closed and stops reading its body', async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x41);
    let pulled = 0;
    // A 64 MiB body: reading it to its end would pull all of it.
    const large = new Readable({ read(): void { pulled += chunk.length; this.push(pulled > 64 * 1024 * 1024 ? null : chunk); } });
    const { client, attestation } = await scripted(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: large }));
    await expect(createTinfoilProvider({ client, attestation, keys: keysOf('k') }).send(request('{}'))).rejects.toMatchObject({ kind: 'protocol', code: 'upstream_protocol_error' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(large.destroyed).toBe(true);
    expect(pulled).toBeLessThan(256 * 1024);
  });

  it('passes a client-sealed request\'s un-nonced error on as it came', async () => {
    const { client, attestation } = await scripted(() => ({ status: 429, headers: { 'retry-after': '1', 'x-router': 'r' }, body: Buffer.from('limited\n') }));
    const answer = await createTinfoilProvider({ client, attestation, keys: keysOf('k') }).send(request('sealed-by-caller', { passthrough: true, headers: { 'ehbp-encapsulated-key': 'ab'.repeat(32) } }));
    expect(answer).toMatchObject({ status: 429, mode: 'passthrough' });
    expect(answer.unauthenticated).toBeUndefined();
    expect(answer.headers).toEqual({ 'retry-after': '1', 'x-router': 'r' });
    expect(await text(answer.body)).toBe('limited\n');
  });
});
