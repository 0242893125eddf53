import { Identity } from 'ehbp';
import { describe, expect, it } from 'vitest';
import { publicKeyOfKeyConfig } from './key-config.ts';

describe('key configuration (RFC 9458 §3)', () => {
  it('reads the key out of what the ehbp reference implementation serves', async () => {
    const identity = await Identity.generate();
    expect(publicKeyOfKeyConfig(await identity.marshalConfig())).toBe(await identity.getPublicKeyHex());
  });

  it('refuses truncated, foreign-KEM and foreign-suite configurations', async () => {
    const good = Buffer.from(await (await Identity.generate()).marshalConfig());
    expect(() => publicKeyOfKeyConfig(good.subarray(0, 20))).toThrow(/too short/);
    const otherKem = Buffer.from(good);
    otherKem.writeUInt16BE(0x0010, 1);
    expect(() => publicKeyOfKeyConfig(otherKem)).toThrow(/not X25519/);
    const otherSuite = Buffer.from(good);
    otherSuite.writeUInt16BE(0x0001, otherSuite.length - 2);
    expect(() => publicKeyOfKeyConfig(otherSuite)).toThrow(/does not offer/);
    expect(() => publicKeyOfKeyConfig(good.subarray(0, good.length - 1))).toThrow(/malformed/);
  });
});
