import { describe, expect, it } from 'vitest';
import { decryptChunk, deriveResponseKeys, EXPORT_LABEL, EXPORT_LENGTH, HPKE_REQUEST_INFO, Identity, PROTOCOL } from 'ehbp';
import { createResponseSealer, EhbpRequestError, frame, openRequest, splitFrames } from './ehbp.ts';
import { createSimulatorKey, simulatorSuite, type SimulatorKey } from './keys.ts';

const encoder = new TextEncoder();

/** sealFrames seals each part as one frame under a fresh sender context, as a streaming client would. */
async function sealFrames(key: SimulatorKey, parts: readonly string[]): Promise<{ encHex: string; body: Buffer; export: () => Promise<Uint8Array>; enc: Uint8Array }> {
  const publicKey = await simulatorSuite.DeserializePublicKey(Buffer.from(key.publicKeyHex, 'hex'));
  const { encapsulatedSecret, ctx } = await simulatorSuite.SetupSender(publicKey, { info: encoder.encode(HPKE_REQUEST_INFO) });
  const frames: Buffer[] = [];
  for (const part of parts) frames.push(frame(await ctx.Seal(encoder.encode(part))));
  return {
    encHex: Buffer.from(encapsulatedSecret).toString('hex'),
    body: Buffer.concat(frames),
    export: () => ctx.Export(encoder.encode(EXPORT_LABEL), EXPORT_LENGTH),
    enc: encapsulatedSecret,
  };
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EhbpRequestError) return error.status;
    throw error;
  }
  return 0;
}

describe('EHBP framing', () => {
  it('splits frames and refuses truncated ones', () => {
    const body = Buffer.concat([frame(Buffer.from('ab')), frame(Buffer.alloc(0)), frame(Buffer.from('cde'))]);
    expect(splitFrames(body).map((f) => Buffer.from(f).toString())).toEqual(['ab', '', 'cde']);
    expect(() => splitFrames(body.subarray(0, body.length - 1))).toThrow(EhbpRequestError);
    expect(() => splitFrames(Buffer.from([0, 0]))).toThrow(/frame length/);
  });
});

describe('openRequest', () => {
  it('opens what ehbp Identity seals to the served key configuration', async () => {
    const key = await createSimulatorKey(0);
    const server = await Identity.unmarshalPublicConfig(key.keyConfig);
    const { request } = await server.encryptRequestWithContext(new Request('http://enclave/v1/chat/completions', { method: 'POST', body: '{"hello":"enclave"}' }));
    const encHex = request.headers.get(PROTOCOL.ENCAPSULATED_KEY_HEADER)!;
    const opened = await openRequest(key.privateKey, encHex, new Uint8Array(await request.arrayBuffer()));
    expect(opened.plaintext.toString()).toBe('{"hello":"enclave"}');
  });

  it('opens several frames in order', async () => {
    const key = await createSimulatorKey(0);
    const sealed = await sealFrames(key, ['{"a":', '1}']);
    expect((await openRequest(key.privateKey, sealed.encHex, sealed.body)).plaintext.toString()).toBe('{"a":1}');
  });

  it('answers 422 when the body was sealed to another key', async () => {
    const stale = await createSimulatorKey(0);
    const current = await createSimulatorKey(1);
    const sealed = await sealFrames(stale, ['{}']);
    expect(await statusOf(openRequest(current.privateKey, sealed.encHex, sealed.body))).toBe(422);
  });

  it('answers 400 for a tampered later frame, a bad key header or a low-order point', async () => {
    const key = await createSimulatorKey(0);
    const sealed = await sealFrames(key, ['{"a":', '1}']);
    const tampered = Buffer.from(sealed.body);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(await statusOf(openRequest(key.privateKey, sealed.encHex, tampered))).toBe(400);
    expect(await statusOf(openRequest(key.privateKey, 'zz', sealed.body))).toBe(400);
    expect(await statusOf(openRequest(key.privateKey, '00'.repeat(32), sealed.body))).toBe(400);
  });

  it('derives deterministic keys from a seed, different per generation', async () => {
    const a = await createSimulatorKey(0, 'seed');
    expect((await createSimulatorKey(0, 'seed')).publicKeyHex).toBe(a.publicKeyHex);
    expect((await createSimulatorKey(1, 'seed')).publicKeyHex).not.toBe(a.publicKeyHex);
  });
});

describe('createResponseSealer', () => {
  it('seals frames the client opens with keys derived from its own context', async () => {
    const key = await createSimulatorKey(0);
    const sealed = await sealFrames(key, ['{}']);
    const opened = await openRequest(key.privateKey, sealed.encHex, sealed.body);
    const sealer = await createResponseSealer(opened);
    const frames = splitFrames(Buffer.concat([await sealer.seal(encoder.encode('data: one\n\n')), await sealer.seal(encoder.encode('data: two\n\n'))]));
    const keys = await deriveResponseKeys(await sealed.export(), sealed.enc, Buffer.from(sealer.nonceHex, 'hex'));
    const plain = await Promise.all(frames.map(async (f, seq) => Buffer.from(await decryptChunk(keys, seq, f)).toString()));
    expect(plain).toEqual(['data: one\n\n', 'data: two\n\n']);
    expect(sealer.nonceHex).toMatch(/^[0-9a-f]{64}$/);
  });
});
