import { createCipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { describe, expect, it, vi } from 'vitest';
import { CipherSuite } from 'hpke';
import { AEAD_AES_256_GCM, KDF_HKDF_SHA256, KEM_DHKEM_X25519_HKDF_SHA256 } from '@panva/hpke-noble';
import { deriveResponseKeys, encryptChunk, EXPORT_LABEL, HPKE_REQUEST_INFO, Identity } from 'ehbp';
import { createRecipient, DecryptingStream, EhbpProtocolError, responseKeys } from './client.ts';

// The enclave side uses the reference implementation `ehbp` itself uses (noble); the client under test
// uses Web Cryptography, so these tests also prove the two interoperate.
const suite = new CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_256_GCM);

/** enclave plays the server side with the reference `ehbp` primitives (noble AES-GCM). */
interface Opened {
  plaintext: Buffer;
  respond: (chunks: string[]) => Promise<{ nonceHex: string; body: Buffer }>;
}

async function enclave(): Promise<{ publicKeyHex: string; open: (body: Buffer, encHex: string) => Promise<Opened> }> {
  const identity = await Identity.generate();
  return {
    publicKeyHex: await identity.getPublicKeyHex(),
    open: async (body, encHex) => {
      const enc = Buffer.from(encHex, 'hex');
      const ctx = await suite.SetupRecipient(identity.getPrivateKey(), enc, { info: new TextEncoder().encode(HPKE_REQUEST_INFO) });
      const length = body.readUInt32BE(0);
      const plaintext = Buffer.from(await ctx.Open(body.subarray(4, 4 + length)));
      return {
        plaintext,
        respond: async (chunks) => {
          const nonce = randomBytes(32);
          const km = await deriveResponseKeys(await ctx.Export(new TextEncoder().encode(EXPORT_LABEL), 32), enc, nonce);
          const frames: Buffer[] = [];
          for (const [seq, chunk] of chunks.entries()) {
            const ct = Buffer.from(await encryptChunk(km, seq, Buffer.from(chunk)));
            const header = Buffer.alloc(4);
            header.writeUInt32BE(ct.length);
            frames.push(header, ct);
          }
          return { nonceHex: nonce.toString('hex'), body: Buffer.concat(frames) };
        },
      };
    },
  };
}

function splitEvery(buffer: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) parts.push(buffer.subarray(i, i + size));
  return parts;
}

describe('EHBP client', () => {
  it('seals a request the enclave opens, and opens its streamed response however it is split', async () => {
    const server = await enclave();
    const recipient = createRecipient(server.publicKeyHex);
    const sealed = recipient.seal(Buffer.from('{"model":"m","messages":[]}'));
    expect(sealed.encapsulatedKeyHex).toMatch(/^[0-9a-f]{64}$/);
    const { plaintext, respond } = await server.open(sealed.body, sealed.encapsulatedKeyHex);
    expect(plaintext.toString()).toBe('{"model":"m","messages":[]}');

    const chunks = ['data: {"a":1}\n\n', 'data: {"b":2}\n\n', 'data: [DONE]\n\n'];
    const response = await respond(chunks);
    for (const size of [1, 3, 7, 1000]) {
      const out = await text(Readable.from(splitEvery(response.body, size)).pipe(new DecryptingStream(responseKeys(sealed, response.nonceHex))));
      expect(out).toBe(chunks.join(''));
    }
  });

  it('uses a fresh encapsulated key for every request', async () => {
    const recipient = createRecipient((await enclave()).publicKeyHex);
    const a = recipient.seal(Buffer.from('x'));
    const b = recipient.seal(Buffer.from('x'));
    expect(a.encapsulatedKeyHex).not.toBe(b.encapsulatedKeyHex);
    expect(a.body.equals(b.body)).toBe(false);
  });

  it('rejects a tampered, truncated or nonce-less response', async () => {
    const server = await enclave();
    const sealed = createRecipient(server.publicKeyHex).seal(Buffer.from('hi'));
    const { respond } = await server.open(sealed.body, sealed.encapsulatedKeyHex);
    const response = await respond(['secret completion']);
    const keys = responseKeys(sealed, response.nonceHex);

    const tampered = Buffer.from(response.body);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    await expect(text(Readable.from([tampered]).pipe(new DecryptingStream(keys)))).rejects.toThrow(/failed authentication/);
    await expect(text(Readable.from([response.body.subarray(0, response.body.length - 3)]).pipe(new DecryptingStream(keys)))).rejects.toThrow(/ended inside a frame/);
    expect(() => responseKeys(sealed, undefined)).toThrow(EhbpProtocolError);
    expect(() => responseKeys(sealed, 'abcd')).toThrow(/Ehbp-Response-Nonce/);
  });

  it('cannot open a response meant for another request', async () => {
    const server = await enclave();
    const recipient = createRecipient(server.publicKeyHex);
    const first = recipient.seal(Buffer.from('one'));
    const second = recipient.seal(Buffer.from('two'));
    const response = await (await server.open(first.body, first.encapsulatedKeyHex)).respond(['for the first']);
    const wrongKeys = responseKeys(second, response.nonceHex);
    await expect(text(Readable.from([response.body]).pipe(new DecryptingStream(wrongKeys)))).rejects.toThrow(/failed authentication/);
  });

  it('refuses a malformed public key', () => {
    expect(() => createRecipient('00')).toThrow(/32 bytes/);
  });
});

describe('DecryptingStream buffering', () => {
  it('collects a large frame split into many chunks with linear copying', async () => {
    const keys = { key: randomBytes(32), nonceBase: randomBytes(12) };
    const plaintext = randomBytes(8 * 1024 * 1024);
    // seq 0: the nonce is the base itself (HPKE's base XOR 0).
    const cipher = createCipheriv('aes-256-gcm', keys.key, keys.nonceBase);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const frame = Buffer.alloc(4 + ciphertext.length);
    frame.writeUInt32BE(ciphertext.length, 0);
    ciphertext.copy(frame, 4);
    const chunks: Buffer[] = [];
    for (let at = 0; at < frame.length; at += 16 * 1024) chunks.push(frame.subarray(at, at + 16 * 1024));
    let copied = 0;
    const concat = Buffer.concat.bind(Buffer);
    const spy = vi.spyOn(Buffer, 'concat').mockImplementation((list, length) => {
      const joined = concat(list, length);
      copied += joined.length;
      return joined;
    });
    try {
      const opened = await buffer(Readable.from(chunks).pipe(new DecryptingStream(keys)));
      expect(opened.equals(plaintext)).toBe(true);
    } finally {
      spy.mockRestore();
    }
    // Re-copying the buffer on each of the 512 chunks would copy about 2 GiB; once is the frame's size.
    expect(copied).toBeLessThanOrEqual(2 * frame.length);
  });
});
