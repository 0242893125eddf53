import { createHash } from 'node:crypto';
import { CipherSuite, type Key } from 'hpke';
import { AEAD_AES_256_GCM, KDF_HKDF_SHA256, KEM_DHKEM_X25519_HKDF_SHA256 } from '@panva/hpke-noble';
import { Identity } from 'ehbp';

/**
 * simulatorSuite is the enclave's HPKE suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
 * (RFC 9180 §7, ids 0x0020/0x0001/0x0002), built from the same noble primitives `ehbp` uses so the
 * simulator is an independent implementation from the proxy's Web Cryptography one.
 */
export const simulatorSuite = new CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_256_GCM);

/** SimulatorKey is one HPKE key pair of the simulated enclave and what it publishes about it. */
export interface SimulatorKey {
  /** generation counts rotations: the first key is 0. */
  readonly generation: number;
  readonly privateKey: Key;
  /** publicKeyHex is the 32-byte X25519 public key as lowercase hex, as attested. */
  readonly publicKeyHex: string;
  /** keyConfig is the RFC 9458 §3 key configuration served at `/.well-known/hpke-keys`. */
  readonly keyConfig: Uint8Array;
}

/**
 * createSimulatorKey makes the key of a generation. With a seed the key is derived (RFC 9180 §7.1.3
 * DeriveKeyPair over sha256(seed, generation)), so a restarted simulator serves the same keys;
 * without one it is random.
 */
export async function createSimulatorKey(generation: number, seed?: string): Promise<SimulatorKey> {
  const pair =
    seed === undefined
      ? await simulatorSuite.GenerateKeyPair(true)
      : await simulatorSuite.DeriveKeyPair(createHash('sha256').update(`${seed}\0${generation}`).digest(), true);
  // Identity formats the key configuration exactly as ehbp's own server does.
  const identity = new Identity(simulatorSuite, pair.publicKey, pair.privateKey);
  return {
    generation,
    privateKey: pair.privateKey,
    publicKeyHex: await identity.getPublicKeyHex(),
    keyConfig: await identity.marshalConfig(),
  };
}
