import { hkdfSync } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { importX25519, openAesGcm, scheduleFor, sequenceNonce, setupBaseSender, type HpkeContext } from './hpke.ts';

/**
 * The client side of EHBP (Encrypted HTTP Body Protocol) as the proxy needs it: seal a request body
 * to the attested enclave's HPKE key and open the response body as it streams. The suite is
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM (RFC 9180) on synchronous node:crypto
 * (hpke.ts); the response keys follow EHBP's OHTTP-style derivation
 * (RFC 9458 §4.4) with node:crypto's HKDF. The constants are the protocol's (the `ehbp` package
 * defines the same; its tests here check that both sides interoperate).
 */
const PROTOCOL = { ENCAPSULATED_KEY_HEADER: 'Ehbp-Encapsulated-Key', RESPONSE_NONCE_HEADER: 'Ehbp-Response-Nonce' } as const;
const HPKE_REQUEST_INFO = 'ehbp request';
const EXPORT_LABEL = 'ehbp response';
const EXPORT_LENGTH = 32;
const RESPONSE_NONCE_LENGTH = 32;
const AES_256_KEY_LENGTH = 32;
const AES_GCM_NONCE_LENGTH = 12;
const requestSchedule = scheduleFor(new TextEncoder().encode(HPKE_REQUEST_INFO));
const RESPONSE_EXPORT_LABEL = new TextEncoder().encode(EXPORT_LABEL);
const FRAME_HEADER = 4;
const TAG_LENGTH = 16;
/** MAX_FRAME bounds one response frame so a hostile length prefix cannot make us buffer without end. */
const MAX_FRAME = 64 * 1024 * 1024;

export const ENCAPSULATED_KEY_HEADER = PROTOCOL.ENCAPSULATED_KEY_HEADER;
export const RESPONSE_NONCE_HEADER = PROTOCOL.RESPONSE_NONCE_HEADER;

/** EhbpProtocolError is a response that breaks EHBP: missing nonce, bad framing, failed decryption. */
export class EhbpProtocolError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'EhbpProtocolError';
  }
}

/** SealedRequest is an encrypted request body plus what is needed to open its response. */
export interface SealedRequest {
  /** body is one EHBP frame: 4-byte big-endian length, then the HPKE ciphertext. */
  readonly body: Buffer;
  /** encapsulatedKeyHex goes in the Ehbp-Encapsulated-Key header. */
  readonly encapsulatedKeyHex: string;
  readonly context: HpkeContext;
  readonly enc: Uint8Array;
}

/** EhbpRecipient is an enclave's public key, deserialized once and reused for every request. */
export interface EhbpRecipient {
  readonly publicKeyHex: string;
  seal(plaintext: Uint8Array): SealedRequest;
}

/** createRecipient imports a 32-byte X25519 public key given as hex. */
export function createRecipient(publicKeyHex: string): EhbpRecipient {
  if (!/^[0-9a-f]{64}$/i.test(publicKeyHex)) throw new EhbpProtocolError('HPKE public key must be 32 bytes of hex');
  const publicKey = importX25519(Buffer.from(publicKeyHex, 'hex'));
  return {
    publicKeyHex: publicKeyHex.toLowerCase(),
    seal(plaintext: Uint8Array): SealedRequest {
      const { enc, context } = setupBaseSender(publicKey, requestSchedule);
      const ciphertext = context.seal(plaintext);
      const body = Buffer.allocUnsafe(FRAME_HEADER + ciphertext.byteLength);
      body.writeUInt32BE(ciphertext.byteLength, 0);
      body.set(ciphertext, FRAME_HEADER);
      return { body, encapsulatedKeyHex: enc.toString('hex'), context, enc };
    },
  };
}

interface ResponseKeys {
  readonly key: Buffer;
  readonly nonceBase: Buffer;
}

/** responseKeys derives the response AEAD key and nonce base from the request context and the response nonce. */
export function responseKeys(sealed: SealedRequest, responseNonceHex: string | undefined): ResponseKeys {
  if (responseNonceHex === undefined || !/^[0-9a-f]*$/i.test(responseNonceHex) || responseNonceHex.length !== RESPONSE_NONCE_LENGTH * 2) {
    throw new EhbpProtocolError(`encrypted response lacks a valid ${RESPONSE_NONCE_HEADER} header`);
  }
  const secret = sealed.context.export(RESPONSE_EXPORT_LABEL, EXPORT_LENGTH);
  // salt = enc || response_nonce; prk = Extract(salt, secret); key = Expand(prk, "key", Nk);
  // nonce = Expand(prk, "nonce", Nn) — hkdfSync does Extract then Expand in one call.
  const salt = Buffer.concat([sealed.enc, Buffer.from(responseNonceHex, 'hex')]);
  const key = Buffer.from(hkdfSync('sha256', secret, salt, 'key', AES_256_KEY_LENGTH));
  const nonceBase = Buffer.from(hkdfSync('sha256', secret, salt, 'nonce', AES_GCM_NONCE_LENGTH));
  return { key, nonceBase };
}

/** openChunk decrypts one response frame's ciphertext (AES-256-GCM, 16-byte tag at the end). */
export function openChunk(keys: ResponseKeys, seq: number, ciphertext: Buffer): Buffer {
  if (ciphertext.length < TAG_LENGTH) throw new EhbpProtocolError(`response frame ${seq} is shorter than its tag`);
  try {
    return openAesGcm(keys.key, sequenceNonce(keys.nonceBase, seq), ciphertext);
  } catch (cause) {
    throw new EhbpProtocolError(`response frame ${seq} failed authentication`, { cause });
  }
}

/**
 * DecryptingStream turns an encrypted EHBP response body into plaintext as frames arrive, so
 * streamed completions reach the caller chunk by chunk. A truncated final frame is an error.
 */
export class DecryptingStream extends Transform {
  // Chunks of the frame being received are collected, not joined: joining on every chunk would
  // copy the buffer again each time, quadratic in a frame of up to MAX_FRAME bytes.
  #chunks: Buffer[] = [];
  #buffered = 0;
  #seq = 0;
  readonly #keys: ResponseKeys;

  constructor(keys: ResponseKeys) {
    super();
    this.#keys = keys;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    try {
      this.#drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.#buffered === 0 ? null : new EhbpProtocolError(`encrypted response ended inside a frame (${this.#buffered} bytes left)`));
  }

  /** #take joins the collected chunks once (when a frame header or a whole frame has arrived). */
  #take(): Buffer {
    const [only] = this.#chunks;
    const joined = this.#chunks.length === 1 && only !== undefined ? only : Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = [joined];
    return joined;
  }

  #drain(): void {
    while (this.#buffered >= FRAME_HEADER) {
      const [first] = this.#chunks;
      const head = first !== undefined && first.length >= FRAME_HEADER ? first : this.#take();
      const length = head.readUInt32BE(0);
      if (length > MAX_FRAME) throw new EhbpProtocolError(`response frame of ${length} bytes exceeds the limit`);
      if (this.#buffered < FRAME_HEADER + length) return;
      const buffer = this.#take();
      const ciphertext = buffer.subarray(FRAME_HEADER, FRAME_HEADER + length);
      const rest = buffer.subarray(FRAME_HEADER + length);
      this.#chunks = rest.length === 0 ? [] : [rest];
      this.#buffered = rest.length;
      if (length === 0) continue; // empty frames carry nothing and consume no sequence number
      this.push(openChunk(this.#keys, this.#seq++, ciphertext));
    }
  }
}
