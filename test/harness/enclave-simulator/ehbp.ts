import { randomBytes } from 'node:crypto';
import type { Key, RecipientContext } from 'hpke';
import { deriveResponseKeys, encryptChunk, EXPORT_LABEL, EXPORT_LENGTH, HPKE_REQUEST_INFO, PROTOCOL, RESPONSE_NONCE_LENGTH, type ResponseKeyMaterial } from 'ehbp';
import { simulatorSuite } from './keys.ts';

/**
 * The recipient (server) side of EHBP, the Encrypted HTTP Body Protocol (tinfoilsh/
 * encrypted-http-body-protocol SPEC.md): open a framed request body with RFC 9180 SetupBaseR and
 * seal the response body frame by frame with keys derived OHTTP-style (RFC 9458 §4.4).
 */

const FRAME_HEADER = 4;
/** MAX_FRAME is the largest frame accepted (SPEC.md §4.3 CHUNK_TOO_LARGE: 64 MiB). */
const MAX_FRAME = 64 * 1024 * 1024;
const ENC_LENGTH = 32;
const REQUEST_INFO = new TextEncoder().encode(HPKE_REQUEST_INFO);
const RESPONSE_EXPORT_LABEL = new TextEncoder().encode(EXPORT_LABEL);

/**
 * EhbpRequestError is an encrypted request the enclave refuses before any processing: 400 for a
 * malformed key header, bad framing or tampering, 422 when the body does not open with the current
 * key (SPEC.md §5.4.2: stale key configuration, the client should re-key and retry).
 */
export class EhbpRequestError extends Error {
  readonly status: 400 | 422;

  constructor(status: 400 | 422, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'EhbpRequestError';
    this.status = status;
  }
}

/** OpenedRequest is a decrypted request body and the HPKE context its response is sealed under. */
export interface OpenedRequest {
  readonly plaintext: Buffer;
  readonly context: RecipientContext;
  readonly enc: Uint8Array;
}

/** frame prefixes `payload` with its 4-byte big-endian length (SPEC.md §4.3). */
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.byteLength);
  out.writeUInt32BE(payload.byteLength, 0);
  out.set(payload, FRAME_HEADER);
  return out;
}

/** splitFrames cuts a complete framed body into its payloads; a truncated or oversized frame is a 400. */
export function splitFrames(body: Uint8Array): Uint8Array[] {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const frames: Uint8Array[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (buffer.length - offset < FRAME_HEADER) throw new EhbpRequestError(400, 'request body ends inside a frame length');
    const length = buffer.readUInt32BE(offset);
    if (length > MAX_FRAME) throw new EhbpRequestError(400, `request frame of ${length} bytes exceeds the limit`);
    offset += FRAME_HEADER;
    if (buffer.length - offset < length) throw new EhbpRequestError(400, 'request body ends inside a frame');
    frames.push(buffer.subarray(offset, offset + length));
    offset += length;
  }
  return frames;
}

/** parseEncapsulatedKey reads the `Ehbp-Encapsulated-Key` header: 32 bytes of hex (X25519 enc). */
export function parseEncapsulatedKey(value: string): Uint8Array {
  if (!/^[0-9a-f]*$/i.test(value) || value.length !== ENC_LENGTH * 2) {
    throw new EhbpRequestError(400, `${PROTOCOL.ENCAPSULATED_KEY_HEADER} must be ${ENC_LENGTH} bytes of hex`);
  }
  return Buffer.from(value, 'hex');
}

async function setupRecipient(privateKey: Key, enc: Uint8Array): Promise<RecipientContext> {
  try {
    return await simulatorSuite.SetupRecipient(privateKey, enc, { info: REQUEST_INFO });
  } catch (cause) {
    // A low-order X25519 point fails decapsulation (RFC 9180 §7.1.4): malformed input, not a stale key.
    throw new EhbpRequestError(400, 'HPKE setup failed', { cause });
  }
}

/**
 * openRequest decrypts a framed request body sealed to `privateKey`. The first frame failing to open
 * means the client sealed to another key (after a rotation): 422. A later frame failing is tampering: 400.
 */
export async function openRequest(privateKey: Key, encHex: string, body: Uint8Array): Promise<OpenedRequest> {
  const enc = parseEncapsulatedKey(encHex);
  const frames = splitFrames(body).filter((f) => f.byteLength > 0);
  const context = await setupRecipient(privateKey, enc);
  const parts: Uint8Array[] = [];
  for (const [index, ciphertext] of frames.entries()) {
    try {
      parts.push(await context.Open(ciphertext));
    } catch (cause) {
      if (index === 0) throw new EhbpRequestError(422, 'request does not open with the current key configuration', { cause });
      throw new EhbpRequestError(400, `request frame ${index} failed authentication`, { cause });
    }
  }
  return { plaintext: Buffer.concat(parts), context, enc };
}

/** ResponseSealer encrypts one response body, chunk by chunk, in order. */
export interface ResponseSealer {
  /** nonceHex goes in the `Ehbp-Response-Nonce` header. */
  readonly nonceHex: string;
  /** seal returns the next frame: length prefix and AES-256-GCM ciphertext under nonce = base XOR seq. */
  seal(plaintext: Uint8Array): Promise<Buffer>;
}

/**
 * createResponseSealer derives the response keys (SPEC.md §4.4): secret = Export("ehbp response", 32),
 * salt = enc || response_nonce, key and nonce base by HKDF. The nonce is fresh per response.
 */
export async function createResponseSealer(opened: OpenedRequest, nonce: Uint8Array = randomBytes(RESPONSE_NONCE_LENGTH)): Promise<ResponseSealer> {
  const secret = await opened.context.Export(RESPONSE_EXPORT_LABEL, EXPORT_LENGTH);
  const keys: ResponseKeyMaterial = await deriveResponseKeys(secret, opened.enc, nonce);
  let seq = 0;
  return {
    nonceHex: Buffer.from(nonce).toString('hex'),
    async seal(plaintext: Uint8Array): Promise<Buffer> {
      return frame(await encryptChunk(keys, seq++, plaintext));
    },
  };
}

/** keyConfigProblem is the 422 body of SPEC.md §5.4.2 (RFC 9457 problem details). */
export function keyConfigProblem(detail: string): { type: string; title: string; detail: string } {
  return { type: PROTOCOL.KEY_CONFIG_PROBLEM_TYPE, title: 'key configuration mismatch', detail };
}
