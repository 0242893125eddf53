import { createPrivateKey, diffieHellman } from 'node:crypto';
import { AEAD_AES_256_GCM, CipherSuite, KDF_HKDF_SHA256, KEM_DHKEM_X25519_HKDF_SHA256 } from 'hpke';
import { describe, expect, it } from 'vitest';
import { loadRfc9180Vector } from '../../test/harness/enclave-simulator/testdata/rfc9180-vector.ts';
import { importX25519, kemSharedSecret, scheduleFor, setupBaseSender } from './hpke.ts';

// RFC 9180's test vector for base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
const vector = loadRfc9180Vector();
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const reference = new CipherSuite(KEM_DHKEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_256_GCM);

/** x25519PrivateKey imports a raw private scalar with the recipient's public key (JWK needs both). */
function x25519PrivateKey(sk: Buffer, pk: Buffer): ReturnType<typeof createPrivateKey> {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: sk.toString('base64url'), x: pk.toString('base64url') }, format: 'jwk' });
}

describe('HPKE base mode on node:crypto', () => {
  it("derives RFC 9180's key schedule: the vector's ciphertext opens and its exports match", () => {
    const dh = diffieHellman({ privateKey: x25519PrivateKey(hex(vector.skRm), hex(vector.pkRm)), publicKey: importX25519(hex(vector.enc)).key });
    const context = scheduleFor(hex(vector.info))(kemSharedSecret(dh, hex(vector.enc), hex(vector.pkRm)));
    const [first] = vector.encryptions;
    expect(context.open(hex(first!.ct), hex(first!.aad)).toString('hex')).toBe(first!.pt);
    for (const e of vector.exports) expect(context.export(hex(e.exporter_context), e.L).toString('hex')).toBe(e.exported_value);
  });

  it('seals what the hpke library opens, sequence after sequence, and both export the same secret', async () => {
    const pair = await reference.GenerateKeyPair(true);
    const recipient = importX25519(await reference.SerializePublicKey(pair.publicKey));
    const info = Buffer.from('ehbp request');
    const { enc, context } = setupBaseSender(recipient, scheduleFor(info));
    const opened = await reference.SetupRecipient(pair.privateKey, enc, { info });
    for (const message of ['first', 'second', 'x'.repeat(40_000)]) {
      expect(Buffer.from(await opened.Open(context.seal(Buffer.from(message)))).toString()).toBe(message);
    }
    const label = Buffer.from('ehbp response');
    expect(context.export(label, 32).toString('hex')).toBe(Buffer.from(await opened.Export(label, 32)).toString('hex'));
  });

  it('opens what the hpke library seals, and refuses a tampered ciphertext', async () => {
    const pair = await reference.GenerateKeyPair(true);
    const pkRm = Buffer.from(await reference.SerializePublicKey(pair.publicKey));
    const skRm = Buffer.from(await reference.SerializePrivateKey(pair.privateKey));
    const info = Buffer.from('ehbp request');
    const { encapsulatedSecret, ctx } = await reference.SetupSender(pair.publicKey, { info });
    const sealed = Buffer.from(await ctx.Seal(Buffer.from('hello enclave')));
    const dh = diffieHellman({ privateKey: x25519PrivateKey(skRm, pkRm), publicKey: importX25519(encapsulatedSecret).key });
    const schedule = scheduleFor(info);
    expect(schedule(kemSharedSecret(dh, encapsulatedSecret, pkRm)).open(sealed).toString()).toBe('hello enclave');
    const context = schedule(kemSharedSecret(dh, encapsulatedSecret, pkRm));
    const tampered = Buffer.from(sealed);
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    expect(() => context.open(tampered)).toThrow();
    expect(() => context.open(sealed.subarray(sealed.length - 8))).toThrow(/shorter than its tag/);
    // A failed open leaves the sequence where it was: the genuine message still opens.
    expect(context.open(sealed).toString()).toBe('hello enclave');
  });

  it('uses a fresh ephemeral key for every set-up', () => {
    const recipient = importX25519(hex(vector.pkRm));
    const schedule = scheduleFor(Buffer.from('ehbp request'));
    const a = setupBaseSender(recipient, schedule);
    const b = setupBaseSender(recipient, schedule);
    expect(a.enc).toHaveLength(32);
    expect(a.enc.equals(b.enc)).toBe(false);
  });
});
