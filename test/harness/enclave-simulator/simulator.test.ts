import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTransport, Identity, KeyConfigMismatchError, PROTOCOL, ProtocolError } from 'ehbp';
import { verifyDevelopmentBundle } from '../../../proxy/attestation/development.ts';
import { AttestationFailure } from '../../../proxy/attestation/types.ts';
import { callSimulator, fetchKeyConfig } from './client.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from './index.ts';
import { defaultCompletionText } from './reply.ts';

let sim: EnclaveSimulator;

beforeAll(async () => {
  sim = await startEnclaveSimulator();
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.clearRequests();
});

const chatBody = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'Hello enclave' }], ...extra });

/** sealedFetch sends one EHBP request with ehbp's own client primitives and fetch. */
async function sealedFetch(path: string, body: string, headers: Record<string, string> = {}): Promise<{ raw: Response; decrypted: Response }> {
  const identity = await Identity.unmarshalPublicConfig(await fetchKeyConfig(sim.url));
  const plain = new Request(new URL(path, sim.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const { request, context } = await identity.encryptRequestWithContext(plain);
  const raw = await fetch(request);
  return { raw, decrypted: await identity.decryptResponseWithContext(raw, context!) };
}

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string[]> {
  const reads: string[] = [];
  const decoder = new TextDecoder();
  for (let r = await reader.read(); !r.done; r = await reader.read()) reads.push(decoder.decode(r.value));
  return reads;
}

describe('EHBP round trips with the ehbp client', () => {
  it('answers a sealed chat completion with a sealed body', async () => {
    const { raw, decrypted } = await sealedFetch('/v1/chat/completions', chatBody(), { authorization: 'Bearer caller-key' });
    expect(raw.status).toBe(200);
    expect(raw.headers.get(PROTOCOL.RESPONSE_NONCE_HEADER)).toMatch(/^[0-9a-f]{64}$/);
    expect(raw.headers.get('content-length')).toBeNull();
    const body = (await decrypted.json()) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } };
    expect(body.choices[0]?.message.content).toBe(defaultCompletionText('llama3-3-70b'));
    expect(body.usage.prompt_tokens).toBe(2);
    const logged = sim.requests().find((r) => r.path === '/v1/chat/completions');
    expect(logged).toMatchObject({ method: 'POST', path: '/v1/chat/completions', encrypted: true, status: 200, body: { model: 'llama3-3-70b' } });
    expect(logged?.headers.authorization).toBe('Bearer caller-key');
    expect(logged?.headers[PROTOCOL.ENCAPSULATED_KEY_HEADER.toLowerCase()]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('streams a sealed chat completion one encrypted frame per SSE event', async () => {
    sim.setCompletionText('one two three');
    const { raw, decrypted } = await sealedFetch('/v1/chat/completions', chatBody({ stream: true, stream_options: { include_usage: true } }));
    expect(raw.headers.get('content-type')).toContain('text/event-stream');
    const reads = await readAll(decrypted.body!.getReader());
    // ehbp's decrypting stream yields one frame per read: each read is exactly one event.
    expect(reads.every((r) => r.startsWith('data: ') && r.endsWith('\n\n') && r.indexOf('data: ', 1) < 0)).toBe(true);
    expect(reads).toHaveLength(7);
    expect(reads.slice(1, 4).map((r) => (JSON.parse(r.slice(6)) as { choices: { delta: { content: string } }[] }).choices[0]?.delta.content)).toEqual([
      'one',
      ' two',
      ' three',
    ]);
    expect(JSON.parse(reads[5]!.slice(6))).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } });
    expect(reads[6]).toBe('data: [DONE]\n\n');
  });

  it('answers a plaintext request in plaintext', async () => {
    const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), headers: { 'content-type': 'application/json' }, encrypt: false });
    expect(reply).toMatchObject({ status: 200, encrypted: false });
    expect(reply.headers[PROTOCOL.RESPONSE_NONCE_HEADER.toLowerCase()]).toBeUndefined();
    expect(JSON.parse(reply.body)).toMatchObject({ object: 'chat.completion' });
    expect(sim.requests()[0]?.encrypted).toBe(false);
  });

  it('serves every endpoint sealed and in plaintext', async () => {
    const json = { 'content-type': 'application/json' };
    const calls = [
      { path: '/v1/chat/completions', body: chatBody(), expected: 'chat.completion' },
      { path: '/v1/completions', body: JSON.stringify({ model: 'm', prompt: 'hi' }), expected: 'text_completion' },
      { path: '/v1/responses', body: JSON.stringify({ model: 'm', input: 'hi' }), expected: 'response' },
      { path: '/v1/embeddings', body: JSON.stringify({ model: 'nomic-embed-text', input: 'hi' }), expected: 'list' },
    ];
    for (const encrypt of [true, false]) {
      for (const call of calls) {
        const reply = await callSimulator(sim.url, { path: call.path, body: call.body, headers: json, encrypt });
        expect({ path: call.path, encrypted: reply.encrypted, object: (JSON.parse(reply.body) as { object: string }).object }).toEqual({
          path: call.path,
          encrypted: encrypt,
          object: call.expected,
        });
      }
    }
    const models = await callSimulator(sim.url, { path: '/v1/models' });
    expect(JSON.parse(models.body)).toMatchObject({ object: 'list', data: [{ id: 'llama3-3-70b', object: 'model' }, {}, {}, {}] });
  });

  it('transcribes a sealed multipart upload', async () => {
    const form = new FormData();
    form.set('model', 'whisper-large-v3-turbo');
    form.set('file', new Blob([new Uint8Array(1500)], { type: 'audio/wav' }), 'a.wav');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const headers = { 'content-type': request.headers.get('content-type')! };
    const reply = await callSimulator(sim.url, { path: '/v1/audio/transcriptions', body: new Uint8Array(await request.arrayBuffer()), headers });
    expect(reply.encrypted).toBe(true);
    expect(JSON.parse(reply.body)).toMatchObject({ text: defaultCompletionText('whisper-large-v3-turbo'), usage: { input_tokens: 2 } });
  });
});

describe('attestation', () => {
  async function attest(): Promise<ReturnType<typeof verifyDevelopmentBundle>> {
    const response = await fetch(new URL('/attestation', sim.url));
    return verifyDevelopmentBundle(await response.json(), sim.developmentPublicKeyPem);
  }

  it('verifies with the development key and states host, release and HPKE key', async () => {
    const result = await attest();
    expect(result).toMatchObject({
      trust: 'Development',
      domain: sim.host,
      releaseDigest: sim.release.releaseDigest,
      measurementFingerprint: sim.release.measurementFingerprint,
      hpkePublicKey: sim.hpkePublicKey,
    });
    expect(sim.release.releaseDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes digest and fingerprint after a release switch', async () => {
    const before = await attest();
    const release = sim.switchRelease();
    const after = await attest();
    expect(after.releaseDigest).toBe(release.releaseDigest);
    expect(after.releaseDigest).not.toBe(before.releaseDigest);
    expect(after.measurementFingerprint).not.toBe(before.measurementFingerprint);
    const chosen = sim.switchRelease({ releaseDigest: 'ab'.repeat(32) });
    expect((await attest()).releaseDigest).toBe(chosen.releaseDigest);
  });

  it('breaks on demand: a signature that does not verify, a 500, or a 503 blip', async () => {
    sim.breakAttestation('bad-signature');
    await expect(attest()).rejects.toSatisfy((e) => e instanceof AttestationFailure && e.step === 'signature');
    sim.breakAttestation('server-error');
    expect((await fetch(new URL('/attestation', sim.url))).status).toBe(500);
    sim.breakAttestation('unavailable');
    const blip = await fetch(new URL('/attestation', sim.url));
    expect([blip.status, blip.headers.get('retry-after')]).toEqual([503, '1']);
    sim.breakAttestation(null);
    await expect(attest()).resolves.toMatchObject({ hpkePublicKey: sim.hpkePublicKey });
  });
});

describe('key rotation', () => {
  it('answers 422 key-config to a request sealed to the old key', async () => {
    const staleConfig = await fetchKeyConfig(sim.url);
    const transport = await createTransport(sim.url);
    const fresh = await sim.rotateKey();
    expect(Buffer.from(await fetchKeyConfig(sim.url)).toString('hex')).toContain(fresh);
    const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody(), keyConfig: staleConfig });
    expect(reply.status).toBe(422);
    expect(reply.headers['content-type']).toBe(PROTOCOL.PROBLEM_JSON_MEDIA_TYPE);
    expect(JSON.parse(reply.body)).toMatchObject({ type: PROTOCOL.KEY_CONFIG_PROBLEM_TYPE });
    await expect(transport.post(new URL('/v1/chat/completions', sim.url).href, chatBody())).rejects.toBeInstanceOf(KeyConfigMismatchError);
    expect(sim.requests().filter((r) => r.status === 422)).toHaveLength(2);
    expect((await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody() })).status).toBe(200);
  });
});

describe('plaintext answers', () => {
  it('answers a sealed request in plaintext when switched, which ehbp clients refuse', async () => {
    sim.answerInPlaintext(true);
    const reply = await callSimulator(sim.url, { path: '/v1/chat/completions', body: chatBody() });
    expect(reply.encrypted).toBe(false);
    expect(JSON.parse(reply.body)).toMatchObject({ object: 'chat.completion' });
    expect(sim.requests()[1]).toMatchObject({ encrypted: true });
    const transport = await createTransport(sim.url);
    await expect(transport.post(new URL('/v1/chat/completions', sim.url).href, chatBody())).rejects.toBeInstanceOf(ProtocolError);
  });
});
