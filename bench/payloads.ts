import { createRecipient, ENCAPSULATED_KEY_HEADER, type EhbpRecipient } from '../proxy/ehbp/client.ts';

/**
 * The benchmark's requests: OpenAI chat requests of a fixed size, identical for every contender,
 * and client-side EHBP sealing for the contenders whose client seals its own body.
 */

export const MODEL = 'llama3-3-70b';
export const CHAT_PATH = '/v1/chat/completions';

/** STREAM_WORDS makes the simulator's stream 200 events: role, 196 words, finish, usage, [DONE]. */
export const STREAM_WORDS = 196;
export const STREAM_EVENTS = STREAM_WORDS + 4;

/** completionText is the simulator's answer for every request: STREAM_WORDS short words (~1.2 KB). */
export function completionText(): string {
  return Array.from({ length: STREAM_WORDS }, (_, i) => `word${i % 100}`).join(' ');
}

/** chatBody is a non-streaming chat request of exactly `bytes` bytes of JSON. */
export function chatBody(bytes: number): Buffer {
  const empty = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: '' }] });
  const pad = Math.max(0, bytes - Buffer.byteLength(empty));
  return Buffer.from(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'a'.repeat(pad) }] }));
}

/** streamBody asks for the streamed answer with usage, so no proxy needs to rewrite it. */
export function streamBody(): Buffer {
  return Buffer.from(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Say 196 words.' }], stream: true, stream_options: { include_usage: true } }));
}

/** PreparedRequest is one request as it goes on the wire. */
export interface PreparedRequest {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * BENCH_BEARER is every plain client's bearer token. Our proxy and the simulator ignore it; LiteLLM
 * takes it as its master key, which it wants long and random-looking.
 */
export const BENCH_BEARER = 'sk-bench-6f1c0b9e4a7d2f58c3e91b07d4a6f2c8';

export const PLAIN_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_BEARER}` };

/** plainRequest is the request a plain client sends. */
export function plainRequest(body: Buffer): PreparedRequest {
  return { headers: { ...PLAIN_HEADERS }, body };
}

/** Sealer seals request bodies to the upstream's HPKE key, once per request (EHBP, RFC 9180 base mode). */
export interface Sealer {
  seal(body: Buffer): PreparedRequest;
  /** pool seals `count` requests ahead of a timed run; each is sent at most once while it lasts. */
  pool(body: Buffer, count: number): PreparedRequest[];
}

/** createSealer seals to `hpkePublicKey` (hex), as a client holding the attested key would. */
export function createSealer(hpkePublicKey: string): Sealer {
  const recipient: EhbpRecipient = createRecipient(hpkePublicKey);
  const seal = (body: Buffer): PreparedRequest => {
    const sealed = recipient.seal(body);
    return { headers: { ...PLAIN_HEADERS, [ENCAPSULATED_KEY_HEADER.toLowerCase()]: sealed.encapsulatedKeyHex }, body: sealed.body };
  };
  return {
    seal,
    pool: (body: Buffer, count: number): PreparedRequest[] => Array.from({ length: count }, () => seal(body)),
  };
}
