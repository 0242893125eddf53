import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import type { AttestationResult } from '../../proxy/attestation/types.ts';
import { releaseToStamp } from './endpoint.ts';
import { secretProblems } from './secrets.ts';
import { computeStatus, type StatusInputs } from './status.ts';

const now = new Date('2026-11-28T10:00:00Z');
const digest = (c: string): string => c.repeat(64);
const result = (d: string, trust: 'Verified' | 'Development' = 'Verified'): AttestationResult => ({ trust, domain: 'x', releaseDigest: d, measurementFingerprint: 'f'.repeat(8), hpkePublicKey: '0'.repeat(64), tlsPublicKeyFingerprint: undefined, verifiedAt: now });
const base = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, replicas: 2 });
const deployment = (ready: number, updated = 2): V1Deployment => ({ metadata: { generation: 3 }, status: { observedGeneration: 3, readyReplicas: ready, availableReplicas: ready, updatedReplicas: updated, replicas: 2 } });

function status(overrides: Partial<StatusInputs>): Record<string, { status: string; reason: string; message: string }> {
  const s = computeStatus({ endpoint: base, deployment: deployment(2), observation: { status: 'verified', result: result(digest('a')) }, problems: [], url: 'http://chat.team-a.svc/v1', now, childrenWritten: true, routableAddresses: 2, ...overrides });
  return Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
}

describe('endpoint status', () => {
  it('is Ready, Attested and settled when the pods are ready on a verified upstream', () => {
    const s = status({});
    expect(s.Ready).toMatchObject({ status: 'True', reason: 'ProxyPodsReady' });
    expect(s.Attested).toMatchObject({ status: 'True', reason: 'Verified' });
    expect(s.Progressing).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect(s.Degraded).toMatchObject({ status: 'False', reason: 'Healthy' });
  });

  it('says why it is not', () => {
    expect(status({ deployment: deployment(1) }).Ready).toMatchObject({ status: 'False', reason: 'WaitingForPods', message: '1 of 2 proxy pods are ready.' });
    expect(status({ deployment: deployment(1, 1) }).Ready).toMatchObject({ status: 'False', reason: 'WaitingForRollout' });
    expect(status({ deployment: deployment(1, 1) }).Progressing).toMatchObject({ status: 'True', reason: 'RollingOut' });
    expect(status({ observation: { status: 'failed', step: 'verifyCode', message: 'bad' } }).Attested).toMatchObject({ status: 'False', reason: 'AttestationFailed', message: 'Verification failed at verifyCode: bad' });
    expect(status({ observation: { status: 'pending' } }).Attested).toMatchObject({ status: 'Unknown', reason: 'Pending' });
    expect(status({ observation: { status: 'unattested' } }).Attested).toMatchObject({ status: 'False', reason: 'Unattested' });
    expect(status({ observation: { status: 'verified', result: result(digest('a'), 'Development') } }).Attested).toMatchObject({ status: 'True', reason: 'DevelopmentTrust' });
    expect(status({ problems: [{ reason: 'SecretNotFound', message: 'Secret "k" does not exist' }] }).Degraded).toMatchObject({ status: 'True', reason: 'SecretNotFound' });
    const pinned = { ...base, spec: { ...base.spec, attestation: { ...base.spec.attestation, policy: 'Pin' as const, pinnedDigests: [digest('a')] } } };
    const mismatch = status({ endpoint: pinned, observation: { status: 'verified', result: result(digest('b')) } }).Attested;
    expect(mismatch).toMatchObject({ status: 'False', reason: 'PinnedDigestMismatch' });
    expect(mismatch?.message).toContain(digest('a'));
    expect(mismatch?.message).toContain(digest('b'));
  });

  it("is AttestationExpired once a verified document's deadline passed without a fresh verification, and not before", () => {
    const expiring = (at: number): StatusInputs['observation'] => ({ status: 'verified', result: { ...result(digest('a')), expiresAt: new Date(now.getTime() + at) } });
    expect(status({ observation: expiring(1) }).Attested).toMatchObject({ status: 'True', reason: 'Verified' });
    const expired = status({ observation: expiring(0) });
    expect(expired.Attested).toMatchObject({ status: 'False', reason: 'AttestationExpired' });
    expect(expired.Attested?.message).toContain(new Date(now.getTime()).toISOString());
    expect(expired.Available).toMatchObject({ status: 'False', reason: 'NotAttested' });
    // The attestation service is down: failing rechecks say so until the last good document expires.
    const failedSince = (at: number): StatusInputs['observation'] => ({ status: 'failed', step: 'fetch', message: 'unavailable', previous: { ...result(digest('a')), expiresAt: new Date(now.getTime() + at) } });
    expect(status({ observation: failedSince(1) }).Attested).toMatchObject({ status: 'False', reason: 'AttestationFailed' });
    expect(status({ observation: failedSince(0) }).Attested).toMatchObject({ status: 'False', reason: 'AttestationExpired', message: expect.stringContaining('verification since failed at fetch: unavailable') as string });
  });

  it('keeps transition times while a condition keeps its status', () => {
    const first = computeStatus({ endpoint: base, deployment: deployment(2), observation: { status: 'verified', result: result(digest('a')) }, problems: [], url: 'u', now, childrenWritten: true, routableAddresses: 2 });
    const later = new Date(now.getTime() + 60_000);
    const again = computeStatus({ endpoint: { ...base, status: first }, deployment: deployment(1, 1), observation: { status: 'verified', result: result(digest('a')) }, problems: [], url: 'u', now: later, childrenWritten: true, routableAddresses: 2 });
    const time = (s: typeof first, type: string): string | undefined => s.conditions?.find((c) => c.type === type)?.lastTransitionTime;
    expect(time(again, 'Attested')).toBe(time(first, 'Attested'));
    expect(time(again, 'Ready')).toBe('2026-11-28T10:01:00Z');
  });
});

describe('release stamping', () => {
  it('rolls only towards a newly verified, acceptable release', () => {
    const verified = (d: string): { status: 'verified'; result: AttestationResult } => ({ status: 'verified', result: result(d) });
    expect(releaseToStamp(base, verified(digest('a')), undefined, now)).toEqual({ digest: digest('a') });
    expect(releaseToStamp(base, verified(digest('a')), digest('a'), now)).toEqual({ digest: digest('a') });
    expect(releaseToStamp(base, verified(digest('b')), digest('a'), now)).toEqual({ digest: digest('b'), rollout: { at: '2026-11-28T10:00:00Z', reason: 'ReleaseChanged', fromDigest: digest('a'), toDigest: digest('b') } });
    expect(releaseToStamp(base, { status: 'failed', step: 'fetch', message: 'x' }, digest('a'), now)).toEqual({ digest: digest('a') });
    const pinned = { ...base, spec: { ...base.spec, attestation: { ...base.spec.attestation, policy: 'Pin' as const, pinnedDigests: [digest('a')] } } };
    expect(releaseToStamp(pinned, verified(digest('b')), digest('a'), now)).toEqual({ digest: digest('a') });
  });
});

describe('secret problems from kubelet events', () => {
  it('recognises a missing Secret and a missing key, naming the spec field', () => {
    const events = [
      { message: 'MountVolume.SetUp failed for volume "attested-inference-provider-key" : secret "k" not found', involvedObject: {}, metadata: {} },
      { message: "MountVolume.SetUp failed for volume \"x\" : couldn't find key api-key in Secret team-a/k", involvedObject: {}, metadata: {} },
      { message: 'something else', involvedObject: {}, metadata: {} },
    ];
    const problems = secretProblems(base, events);
    expect(problems.map((p) => p.reason)).toEqual(['SecretNotFound', 'SecretKeyMissing']);
    expect(problems[0]?.message).toContain('spec.apiKeySecretRef');
  });
});
