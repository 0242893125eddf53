import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.ts';
import { createAttestationManager, type AttestationPolicy } from './manager.ts';
import { AttestationFailure, type AttestationResult } from './types.ts';

function hpkeKeyHex(): string {
  const jwk = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('hex');
}

const digest = (c: string): string => c.repeat(64);

function result(releaseDigest: string, hpkePublicKey = hpkeKeyHex()): AttestationResult {
  return { trust: 'Development', domain: 'sim', releaseDigest, measurementFingerprint: releaseDigest.slice(0, 8), hpkePublicKey, tlsPublicKeyFingerprint: undefined, verifiedAt: new Date(0) };
}

/** scripted returns a verifier that answers with the queued outcomes, counting calls. */
function scripted(outcomes: (AttestationResult | AttestationFailure)[]): { verify: () => Promise<AttestationResult>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    verify: async () => {
      calls += 1;
      await Promise.resolve();
      const next = outcomes.length > 1 ? outcomes.shift()! : outcomes[0]!;
      if (next instanceof AttestationFailure) throw next;
      return next;
    },
  };
}

function timers(): { set: (fn: () => void, ms: number) => { cancel(): void }; delays: number[] } {
  const delays: number[] = [];
  return { delays, set: (_fn, ms) => (delays.push(ms), { cancel: () => undefined }) };
}

const follow: AttestationPolicy = { policy: 'Follow', pinnedDigests: [], recheckIntervalSeconds: 60 };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as ProxyError).code + ': ' + (error as ProxyError).message;
  }
  return 'no error';
}

describe('attestation manager', () => {
  it('fails closed until the first verification succeeds', async () => {
    const manager = createAttestationManager({ verifier: scripted([result(digest('a'))]), policy: follow, setTimer: timers().set });
    expect(codeOf(() => manager.require())).toMatch(/^attestation_pending/);
    await manager.reattest('test');
    expect(manager.require().result.releaseDigest).toBe(digest('a'));
  });

  it('fails closed at once when a re-verification fails, naming the step', async () => {
    const verifier = scripted([result(digest('a')), new AttestationFailure('verifyCode', 'bad signature')]);
    const manager = createAttestationManager({ verifier, policy: follow, setTimer: timers().set });
    await manager.reattest('first');
    await manager.reattest('second');
    expect(codeOf(() => manager.require())).toBe('attestation_failed: upstream attestation failed at verifyCode: bad signature; nothing was sent');
    const state = manager.state();
    expect(state.status === 'failed' && state.previous?.releaseDigest).toBe(digest('a'));
  });

  it('refuses a release that is not pinned, naming both digests', async () => {
    const policy: AttestationPolicy = { policy: 'Pin', pinnedDigests: [digest('a')], recheckIntervalSeconds: 60 };
    const manager = createAttestationManager({ verifier: scripted([result(digest('b'))]), policy, setTimer: timers().set });
    await manager.reattest('test');
    const message = codeOf(() => manager.require());
    expect(message).toContain(digest('b'));
    expect(message).toContain(digest('a'));
    expect(message).toMatch(/^attestation_failed: upstream attestation failed at policy/);
  });

  it('rides out a failure to fetch for at most two recheck intervals', async () => {
    let now = 0;
    const verifier = scripted([result(digest('a')), new AttestationFailure('fetch', 'HTTP 503')]);
    const stillServing: boolean[] = [];
    const manager = createAttestationManager({ verifier, policy: follow, now: () => now, setTimer: timers().set, events: { failed: (_f, serving) => stillServing.push(serving) } });
    await manager.reattest('first');
    now = 60_000;
    await manager.reattest('recheck');
    expect(manager.state().status).toBe('verified');
    now = 120_001;
    await manager.reattest('recheck');
    expect(manager.state().status).toBe('failed');
    expect(stillServing).toEqual([true, false]);
  });

  it('stops new requests when the verified document expires, even while a fetch failure would keep it, until a fresh verification', async () => {
    let now = 0;
    const expiring = { ...result(digest('a')), expiresAt: new Date(30_000) };
    const verifier = scripted([expiring, new AttestationFailure('fetch', 'HTTP 503'), { ...expiring, expiresAt: new Date(200_000) }]);
    const clock = timers();
    const manager = createAttestationManager({ verifier, policy: follow, now: () => now, setTimer: clock.set, random: () => 0 });
    manager.start();
    await manager.reattest('first');
    expect(clock.delays.at(-1)).toBe(15_000); // at half its remaining validity, before the 60 s recheck
    expect(codeOf(() => manager.require())).toBe('no error');
    now = 20_000;
    await manager.reattest('recheck'); // the attestation service blips: the verification is kept, for now
    expect(manager.state().status).toBe('verified');
    now = 30_000;
    expect(codeOf(() => manager.require())).toBe('attestation_expired: the upstream\'s attestation expired at 1970-01-01T00:00:30.000Z and no fresh verification has succeeded; nothing was sent');
    await manager.reattest('recheck');
    expect(codeOf(() => manager.require())).toBe('no error');
  });

  it('records when verification started and when the upstream first verified, which later failures keep', async () => {
    let now = 5_000;
    const verifier = scripted([new AttestationFailure('fetch', 'HTTP 503'), result(digest('a')), new AttestationFailure('signature', 'bad')]);
    const manager = createAttestationManager({ verifier, policy: follow, now: () => now, setTimer: timers().set });
    expect(manager.milestones()).toEqual({ startedAt: undefined, firstVerifiedAt: undefined });
    manager.start();
    await manager.reattest('joins the first');
    expect(manager.milestones()).toEqual({ startedAt: 5_000, firstVerifiedAt: undefined });
    now = 7_000;
    await manager.reattest('retry');
    now = 9_000;
    await manager.reattest('recheck');
    manager.start();
    manager.stop();
    expect(manager.state().status).toBe('failed');
    expect(manager.milestones()).toEqual({ startedAt: 5_000, firstVerifiedAt: 7_000 });
  });

  it('shares one verification between concurrent callers', async () => {
    const verifier = scripted([result(digest('a'))]);
    const manager = createAttestationManager({ verifier, policy: follow, setTimer: timers().set });
    await Promise.all([manager.reattest('a'), manager.reattest('b'), manager.reattest('c')]);
    expect(verifier.calls()).toBe(1);
  });

  it('reports a change of release and re-keys only when the key changes', async () => {
    const key = hpkeKeyHex();
    const verifier = scripted([result(digest('a'), key), result(digest('a'), key), result(digest('b'))]);
    const changes: boolean[] = [];
    const manager = createAttestationManager({ verifier, policy: follow, setTimer: timers().set, events: { verified: (_r, changed) => changes.push(changed) } });
    await manager.reattest('1');
    const first = manager.require().recipient;
    await manager.reattest('2');
    expect(manager.require().recipient).toBe(first);
    await manager.reattest('3');
    expect(manager.require().recipient).not.toBe(first);
    expect(changes).toEqual([true, false, true]);
  });

  it('rechecks on its interval and backs off after failures', async () => {
    const t = timers();
    const verifier = scripted([new AttestationFailure('verifyEnclave', 'x'), new AttestationFailure('verifyEnclave', 'x'), result(digest('a'))]);
    const manager = createAttestationManager({ verifier, policy: follow, setTimer: t.set, random: () => 0 });
    manager.start();
    await manager.reattest('joins the verification start() began');
    await manager.reattest('retry');
    await manager.reattest('retry');
    manager.stop();
    expect(verifier.calls()).toBe(3);
    expect(t.delays).toEqual([1000, 2000, 60_000]);
  });

  it('spreads rechecks over the last fifth of the interval, so proxies started together drift apart', async () => {
    const delays = await Promise.all([0, 0.5, 0.999].map(async (r) => {
      const t = timers();
      const manager = createAttestationManager({ verifier: scripted([result(digest('a'))]), policy: follow, setTimer: t.set, random: () => r });
      manager.start();
      await manager.reattest('first');
      manager.stop();
      return t.delays.at(-1);
    }));
    expect(delays).toEqual([60_000, 54_000, 48_012]);
  });
});

describe('on-demand re-attestation', () => {
  it('starts at most one verification per reattestMinIntervalSeconds, however often it is asked', async () => {
    let now = 0;
    const verifier = scripted([result(digest('a'))]);
    const policy: AttestationPolicy = { ...follow, reattestMinIntervalSeconds: 30 };
    const manager = createAttestationManager({ verifier, policy, now: () => now, setTimer: timers().set });
    await manager.reattest('first');
    for (let i = 0; i < 100; i++) await manager.reattestOnDemand('stale key');
    expect(verifier.calls()).toBe(2);
    now = 29_999;
    await manager.reattestOnDemand('stale key');
    expect(verifier.calls()).toBe(2);
    now = 30_000;
    await manager.reattestOnDemand('stale key');
    expect(verifier.calls()).toBe(3);
  });
});
