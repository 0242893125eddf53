import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { AttestationFailure, type AttestationResult } from '../../proxy/attestation/types.ts';
import type { AttestationVerifierConfig } from '../../proxy/attestation/verifier.ts';
import type { UpstreamObservation } from './observation.ts';
import { AttestationWatcher, beforeExpiryMs, nextCheckMs, RETRY_BASE_MS } from './watcher.ts';

const result = (digest: string): AttestationResult => ({ trust: 'Development', domain: 'sim', releaseDigest: digest, measurementFingerprint: 'm', hpkePublicKey: 'k', tlsPublicKeyFingerprint: undefined, verifiedAt: new Date(0) });
const spec = (bundleUrl: string, recheckInterval = '1m'): Record<string, unknown> => ({
  provider: 'tinfoil',
  upstream: { url: 'http://sim.local' },
  apiKeySecretRef: { name: 'k' },
  attestation: { trust: 'Development', developmentPublicKey: 'pem', bundleUrl, recheckInterval },
});

function harness(outcomes: (AttestationResult | AttestationFailure)[], random: () => number = () => 0): {
  watcher: AttestationWatcher;
  created: AttestationVerifierConfig[];
  calls: () => number;
  updates: { keys: readonly string[]; observation: UpstreamObservation }[];
  timers: { fn: () => void; ms: number }[];
} {
  const created: AttestationVerifierConfig[] = [];
  const updates: { keys: readonly string[]; observation: UpstreamObservation }[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  let calls = 0;
  const watcher = new AttestationWatcher({
    allowDevelopmentTrust: true,
    random,
    onUpdate: (keys, observation) => updates.push({ keys, observation }),
    setTimer: (fn, ms) => (timers.push({ fn, ms }), { cancel: () => undefined }),
    createVerifier: (config) => {
      created.push(config);
      return {
        verify: () => {
          calls += 1;
          const next = outcomes.length > 1 ? outcomes.shift()! : outcomes[0]!;
          return next instanceof AttestationFailure ? Promise.reject(next) : Promise.resolve(next);
        },
      };
    },
  });
  return { watcher, created, calls: () => calls, updates, timers };
}

describe('attestation watcher', () => {
  it('verifies each distinct upstream once for every endpoint that uses it, at the shortest interval', async () => {
    const h = harness([result('a')]);
    const first = await h.watcher.firstObservation('ns/a', endpoint('a', spec('http://one', '5m')), 1000);
    const second = await h.watcher.firstObservation('ns/b', endpoint('b', spec('http://one', '1m')), 1000);
    await h.watcher.firstObservation('ns/c', endpoint('c', spec('http://two')), 1000);
    expect(first).toMatchObject({ status: 'verified' });
    expect(second).toMatchObject({ status: 'verified' });
    expect(h.created.map((c) => c.bundleUrl)).toEqual(['http://one', 'http://two']);
    expect(h.calls()).toBe(2);
    expect(h.watcher.upstreamCount()).toBe(2);
    expect(h.timers[0]?.ms).toBe(300_000);
    h.timers[0]!.fn();
    await new Promise((r) => setTimeout(r, 0));
    expect(h.timers.at(-1)?.ms).toBe(60_000);
  });

  it('tells every endpoint of an upstream when its release changes or it fails, and not otherwise', async () => {
    const h = harness([result('a'), result('a'), result('b'), new AttestationFailure('verifyCode', 'bad')]);
    await h.watcher.firstObservation('ns/a', endpoint('a', spec('http://one')), 1000);
    h.watcher.observe('ns/b', endpoint('b', spec('http://one')));
    const recheck = async (): Promise<void> => {
      h.timers.at(-1)!.fn();
      await new Promise((r) => setTimeout(r, 0));
    };
    await recheck();
    await recheck();
    await recheck();
    expect(h.updates.map((u) => [u.observation.status, [...u.keys].sort().join(',')])).toEqual([
      ['verified', 'ns/a'],
      ['verified', 'ns/a,ns/b'],
      ['failed', 'ns/a,ns/b'],
    ]);
    const failed = h.updates.at(-1)!.observation;
    expect(failed.status === 'failed' && failed.previous?.releaseDigest).toBe('b');
  });

  it('never fetches for unattested upstreams, and refuses development trust unless allowed', () => {
    const h = harness([result('a')]);
    expect(h.watcher.observe('ns/x', endpoint('x', { provider: 'openai-compatible', acknowledgeUnattested: true, upstream: { url: 'https://x' }, apiKeySecretRef: { name: 'k' } }))).toEqual({ status: 'unattested' });
    const strict = new AttestationWatcher({ allowDevelopmentTrust: false, onUpdate: () => undefined, createVerifier: () => ({ verify: () => Promise.reject(new Error('must not verify')) }) });
    expect(strict.observe('ns/d', endpoint('d', spec('http://one'))).status).toBe('disallowed');
    expect(h.calls()).toBe(0);
  });

  it('stops verifying an upstream nobody uses', async () => {
    const h = harness([result('a')]);
    await h.watcher.firstObservation('ns/a', endpoint('a', spec('http://one')), 1000);
    h.watcher.forget('ns/a');
    expect(h.watcher.upstreamCount()).toBe(0);
  });

  it('spreads rechecks over the last fifth of the interval, never later than the interval', () => {
    expect(nextCheckMs(60_000, 0, () => 0)).toBe(60_000);
    expect(nextCheckMs(60_000, 0, () => 0.5)).toBe(54_000);
    expect(nextCheckMs(60_000, 0, () => 0.999)).toBeGreaterThan(48_000);
  });

  it('backs off exponentially from 5 s for a failing upstream, capped by the interval and five minutes', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((failures) => nextCheckMs(3_600_000, failures, () => 0));
    expect(delays).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(nextCheckMs(30_000, 5, () => 0)).toBe(30_000);
  });

  it('schedules retries of a failing upstream with growing delays, and the normal interval after it recovers', async () => {
    const fail = new AttestationFailure('fetch', 'down');
    const h = harness([fail, fail, fail, result('a')]);
    h.watcher.observe('ns/a', endpoint('a', spec('http://one', '1h')));
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
    await settle();
    for (let i = 0; i < 3; i += 1) {
      h.timers.at(-1)!.fn();
      await settle();
    }
    expect(h.timers.map((t) => t.ms)).toEqual([5000, 10_000, 20_000, 3_600_000]);
  });

  it('verifies a document that expires again at half its remaining validity, however long the interval', async () => {
    const expiring = { ...result('a'), expiresAt: new Date(Date.now() + 600_000) };
    expect(beforeExpiryMs({ status: 'verified', result: expiring }, expiring.expiresAt.getTime() - 600_000)).toBe(300_000);
    expect(beforeExpiryMs({ status: 'verified', result: expiring }, expiring.expiresAt.getTime())).toBe(RETRY_BASE_MS);
    expect(beforeExpiryMs({ status: 'verified', result: result('a') }, 0)).toBe(Infinity);
    const h = harness([expiring]);
    h.watcher.observe('ns/a', endpoint('a', spec('http://one', '1h')));
    await new Promise((r) => setTimeout(r, 0));
    expect(h.timers.at(-1)!.ms).toBeLessThanOrEqual(300_000);
    expect(h.timers.at(-1)!.ms).toBeGreaterThan(290_000);
  });

  it('fails a verification that hangs, within its timeout, instead of waiting on it', async () => {
    const updates: UpstreamObservation[] = [];
    const watcher = new AttestationWatcher({
      allowDevelopmentTrust: true,
      verifyTimeoutMs: 50,
      onUpdate: (_keys, observation) => updates.push(observation),
      setTimer: () => ({ cancel: () => undefined }),
      createVerifier: () => ({ verify: () => new Promise<never>(() => undefined) }),
    });
    expect(watcher.observe('ns/a', endpoint('a', spec('http://blackhole'))).status).toBe('pending');
    await new Promise((r) => setTimeout(r, 200));
    expect(updates).toMatchObject([{ status: 'failed', step: 'fetch', message: 'verification timed out after 50 ms' }]);
  });

  it('stops verifying while paused (its in-flight result dropped) and verifies every upstream again on resume', async () => {
    let release: ((r: AttestationResult) => void) | undefined;
    let calls = 0;
    const signals: AbortSignal[] = [];
    const updates: UpstreamObservation[] = [];
    const cancelled: number[] = [];
    const watcher = new AttestationWatcher({
      allowDevelopmentTrust: true,
      onUpdate: (_keys, observation) => updates.push(observation),
      setTimer: () => ({ cancel: () => cancelled.push(1) }),
      createVerifier: () => ({
        verify: (signal?: AbortSignal) => {
          calls += 1;
          if (signal) signals.push(signal);
          return calls === 1 ? new Promise<AttestationResult>((resolve) => (release = resolve)) : Promise.resolve(result('b'));
        },
      }),
    });
    watcher.observe('ns/a', endpoint('a', spec('http://one')));
    watcher.pause();
    expect(signals[0]?.aborted).toBe(true);
    release!(result('a'));
    await new Promise((r) => setTimeout(r, 0));
    expect(updates).toEqual([]);
    expect(watcher.observe('ns/a', endpoint('a', spec('http://one'))).status).toBe('pending');
    expect(calls).toBe(1);
    watcher.resume();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(2);
    expect(updates).toMatchObject([{ status: 'verified', result: { releaseDigest: 'b' } }]);
  });
});
