import { readFileSync } from 'node:fs';

/** Rfc9180Vector is one entry of RFC 9180's test vectors (hex strings as published). */
export interface Rfc9180Vector {
  readonly mode: number;
  readonly kem_id: number;
  readonly kdf_id: number;
  readonly aead_id: number;
  readonly info: string;
  readonly ikmR: string;
  readonly skRm: string;
  readonly pkRm: string;
  readonly enc: string;
  readonly encryptions: readonly { readonly aad: string; readonly ct: string; readonly pt: string }[];
  readonly exports: readonly { readonly exporter_context: string; readonly L: number; readonly exported_value: string }[];
}

/**
 * loadRfc9180Vector returns a fresh copy of RFC 9180's vector for EHBP's suite: base mode,
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
 */
export function loadRfc9180Vector(): Rfc9180Vector {
  return JSON.parse(readFileSync(new URL('rfc9180-base-x25519-sha256-aes256gcm.json', import.meta.url), 'utf8')) as Rfc9180Vector;
}
