/** KEM_X25519 is DHKEM(X25519, HKDF-SHA256), the only KEM EHBP uses (RFC 9180 §7.1). */
const KEM_X25519 = 0x0020;
const KDF_HKDF_SHA256 = 0x0001;
const AEAD_AES_256_GCM = 0x0002;
const X25519_PUBLIC_KEY_LENGTH = 32;

/**
 * publicKeyOfKeyConfig reads the X25519 public key (hex) out of a key configuration as served at
 * `/.well-known/hpke-keys` (RFC 9458 §3: key id, KEM id, public key, then a length-prefixed list
 * of KDF/AEAD pairs), and checks that it offers EHBP's suite. Malformed input throws.
 */
export function publicKeyOfKeyConfig(config: Uint8Array): string {
  const bytes = Buffer.from(config);
  const minimum = 1 + 2 + X25519_PUBLIC_KEY_LENGTH + 2;
  if (bytes.length < minimum) throw new Error(`key configuration of ${String(bytes.length)} bytes is too short`);
  const kem = bytes.readUInt16BE(1);
  if (kem !== KEM_X25519) throw new Error(`key configuration uses KEM 0x${kem.toString(16)}, not X25519`);
  const publicKey = bytes.subarray(3, 3 + X25519_PUBLIC_KEY_LENGTH);
  const suitesLength = bytes.readUInt16BE(3 + X25519_PUBLIC_KEY_LENGTH);
  const suitesStart = minimum;
  if (suitesLength % 4 !== 0 || bytes.length < suitesStart + suitesLength) throw new Error('key configuration has a malformed cipher-suite list');
  let offersEhbpSuite = false;
  for (let i = suitesStart; i < suitesStart + suitesLength; i += 4) {
    if (bytes.readUInt16BE(i) === KDF_HKDF_SHA256 && bytes.readUInt16BE(i + 2) === AEAD_AES_256_GCM) offersEhbpSuite = true;
  }
  if (!offersEhbpSuite) throw new Error('key configuration does not offer HKDF-SHA256 with AES-256-GCM');
  return publicKey.toString('hex');
}
