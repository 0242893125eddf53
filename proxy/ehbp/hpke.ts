import { createCipheriv, createDecipheriv, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * HPKE (RFC 9180) in base mode for EHBP's one suite — DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * AES-256-GCM — on synchronous node:crypto. The proxy seals requests and exports the response
 * secret; `open` serves the tests (RFC 9180's vector is a recipient's). The `hpke` library does the same on Web Cryptography, where each
 * step is an asynchronous thread-pool job and a set-up costs about a millisecond; here it is a
 * few hundred microseconds less than that. Checked against RFC 9180's test vector for this suite
 * and against the `hpke` library in both directions (hpke.test.ts).
 */

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0002;
const NK = 32;
const NN = 12;
const NH = 32;
const TAG_LENGTH = 16;
const MODE_BASE = 0;

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const VERSION = Buffer.from('HPKE-v1');
const EMPTY = Buffer.alloc(0);

/** extract is HKDF-Extract (RFC 5869) with SHA-256; an empty salt is Nh zero bytes, as HMAC pads it. */
function extract(salt: Uint8Array, ikm: Uint8Array): Buffer {
  return createHmac('sha256', salt).update(ikm).digest();
}

/** expand is HKDF-Expand (RFC 5869) with SHA-256. */
function expand(prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = EMPTY;
  for (let i = 1; blocks.length * NH < length; i++) {
    previous = createHmac('sha256', prk).update(previous).update(info).update(Buffer.from([i])).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** LabeledExtract and LabeledExpand (RFC 9180 §4) for one suite identifier. */
function labeled(suite: Buffer): { extract: (salt: Uint8Array, label: string, ikm: Uint8Array) => Buffer; expand: (prk: Uint8Array, label: string, info: Uint8Array, length: number) => Buffer } {
  return {
    extract: (salt, label, ikm) => extract(salt, Buffer.concat([VERSION, suite, Buffer.from(label), ikm])),
    expand: (prk, label, info, length) => expand(prk, Buffer.concat([u16(length), VERSION, suite, Buffer.from(label), info]), length),
  };
}

const KEM = labeled(Buffer.concat([Buffer.from('KEM'), u16(KEM_ID)]));
const HPKE = labeled(Buffer.concat([Buffer.from('HPKE'), u16(KEM_ID), u16(KDF_ID), u16(AEAD_ID)]));

/** kemSharedSecret is DHKEM's ExtractAndExpand over dh = DH(sk, pk) and kem_context = enc || pkRm (RFC 9180 §4.1). */
export function kemSharedSecret(dh: Uint8Array, enc: Uint8Array, recipientPublicKey: Uint8Array): Buffer {
  const eaePrk = KEM.extract(EMPTY, 'eae_prk', dh);
  return KEM.expand(eaePrk, 'shared_secret', Buffer.concat([enc, recipientPublicKey]), NH);
}

/** HpkeContext is an HPKE encryption context (RFC 9180 §5.2, §5.3): sequenced AEAD and the secret exporter. */
export interface HpkeContext {
  seal(plaintext: Uint8Array, aad?: Uint8Array): Buffer;
  open(ciphertext: Uint8Array, aad?: Uint8Array): Buffer;
  export(exporterContext: Uint8Array, length: number): Buffer;
}

/** scheduleFor precomputes the part of the base-mode key schedule that depends on `info` alone. */
export function scheduleFor(info: Uint8Array): (sharedSecret: Uint8Array) => HpkeContext {
  const pskIdHash = HPKE.extract(EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = HPKE.extract(EMPTY, 'info_hash', info);
  const keyScheduleContext = Buffer.concat([Buffer.from([MODE_BASE]), pskIdHash, infoHash]);
  return (sharedSecret) => {
    const secret = HPKE.extract(sharedSecret, 'secret', EMPTY);
    return encryptionContext(
      HPKE.expand(secret, 'key', keyScheduleContext, NK),
      HPKE.expand(secret, 'base_nonce', keyScheduleContext, NN),
      HPKE.expand(secret, 'exp', keyScheduleContext, NH),
    );
  };
}

/**
 * sequenceNonce is `base` XOR the big-endian sequence number in its low-order bytes: HPKE's
 * ComputeNonce (RFC 9180 §5.2), and EHBP's response frames use the same. Far fewer than 2^32
 * messages are sealed under one key.
 */
export function sequenceNonce(base: Buffer, seq: number): Buffer {
  const out = Buffer.from(base);
  out.writeUInt32BE((out.readUInt32BE(out.length - 4) ^ seq) >>> 0, out.length - 4);
  return out;
}

/** openAesGcm opens AES-256-GCM with the 16-byte tag at the end; it throws when the message is short or does not authenticate. */
export function openAesGcm(key: Buffer, nonce: Buffer, ciphertext: Uint8Array, aad: Uint8Array = EMPTY): Buffer {
  if (ciphertext.length < TAG_LENGTH) throw new Error('AES-GCM ciphertext is shorter than its tag');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LENGTH));
  return Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_LENGTH)), decipher.final()]);
}

function encryptionContext(key: Buffer, baseNonce: Buffer, exporterSecret: Buffer): HpkeContext {
  let seq = 0;
  return {
    seal(plaintext, aad = EMPTY) {
      const cipher = createCipheriv('aes-256-gcm', key, sequenceNonce(baseNonce, seq), { authTagLength: TAG_LENGTH });
      cipher.setAAD(aad);
      const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      seq += 1;
      return sealed;
    },
    open(ciphertext, aad = EMPTY) {
      // The sequence moves on only when a message opened (RFC 9180 §5.2: a failed Open changes nothing).
      const opened = openAesGcm(key, sequenceNonce(baseNonce, seq), ciphertext, aad);
      seq += 1;
      return opened;
    },
    export: (exporterContext, length) => HPKE.expand(exporterSecret, 'sec', exporterContext, length),
  };
}

/** HpkeRecipientKey is an X25519 public key, imported once and sealed to many times. */
export interface HpkeRecipientKey {
  readonly raw: Buffer;
  readonly key: KeyObject;
}

/** importX25519 imports a raw 32-byte X25519 public key. */
export function importX25519(raw: Uint8Array): HpkeRecipientKey {
  const bytes = Buffer.from(raw);
  return { raw: bytes, key: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: bytes.toString('base64url') }, format: 'jwk' }) };
}

/** setupBaseSender is SetupBaseS (RFC 9180 §5.1.1) with a fresh ephemeral key: it returns enc and the context. */
export function setupBaseSender(recipient: HpkeRecipientKey, schedule: (sharedSecret: Uint8Array) => HpkeContext): { enc: Buffer; context: HpkeContext } {
  const ephemeral = generateKeyPairSync('x25519');
  const enc = Buffer.from(ephemeral.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const dh = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient.key });
  return { enc, context: schedule(kemSharedSecret(dh, enc, recipient.raw)) };
}
