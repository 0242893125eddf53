import { describe, expect, it } from 'vitest';
import { HPKE_CONFIG } from 'ehbp';
import { simulatorSuite } from './keys.ts';
import { loadRfc9180Vector } from './testdata/rfc9180-vector.ts';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('the simulator HPKE suite against RFC 9180 test vectors', () => {
  it('is the suite EHBP names', () => {
    const vector = loadRfc9180Vector();
    expect([vector.mode, vector.kem_id, vector.kdf_id, vector.aead_id]).toEqual([0, HPKE_CONFIG.KEM, HPKE_CONFIG.KDF, HPKE_CONFIG.AEAD]);
  });

  it('derives the vector recipient key pair from ikmR (DeriveKeyPair, RFC 9180 §7.1.3)', async () => {
    const vector = loadRfc9180Vector();
    const pair = await simulatorSuite.DeriveKeyPair(bytes(vector.ikmR), true);
    expect(hex(await simulatorSuite.SerializePrivateKey(pair.privateKey))).toBe(vector.skRm);
    expect(hex(await simulatorSuite.SerializePublicKey(pair.publicKey))).toBe(vector.pkRm);
  });

  it('opens the first ciphertext with SetupBaseR(enc, skRm, info)', async () => {
    const vector = loadRfc9180Vector();
    const privateKey = await simulatorSuite.DeserializePrivateKey(bytes(vector.skRm), false);
    const context = await simulatorSuite.SetupRecipient(privateKey, bytes(vector.enc), { info: bytes(vector.info) });
    const first = vector.encryptions[0]!;
    expect(hex(await context.Open(bytes(first.ct), bytes(first.aad)))).toBe(first.pt);
  });

  it('exports the vector secrets from the recipient context', async () => {
    const vector = loadRfc9180Vector();
    const privateKey = await simulatorSuite.DeserializePrivateKey(bytes(vector.skRm), false);
    const context = await simulatorSuite.SetupRecipient(privateKey, bytes(vector.enc), { info: bytes(vector.info) });
    for (const exported of vector.exports) {
      expect(hex(await context.Export(bytes(exported.exporter_context), exported.L))).toBe(exported.exported_value);
    }
  });

  it('rejects the ciphertext under another info', async () => {
    const vector = loadRfc9180Vector();
    const privateKey = await simulatorSuite.DeserializePrivateKey(bytes(vector.skRm), false);
    const context = await simulatorSuite.SetupRecipient(privateKey, bytes(vector.enc), { info: new TextEncoder().encode('ehbp request') });
    const first = vector.encryptions[0]!;
    await expect(context.Open(bytes(first.ct), bytes(first.aad))).rejects.toThrow();
  });
});
