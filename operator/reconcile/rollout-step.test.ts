import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import type { InferenceEndpoint, RolloutRecord } from '../api/v1alpha1/types.ts';
import { RolloutPacer } from '../controller/rollout-pacer.ts';
import { alreadyRecorded, reportProgress, rolloutStep } from './rollout-step.ts';

const spec = { provider: 'tinfoil', upstream: { url: 'http://sim.local' }, apiKeySecretRef: { name: 'k' }, replicas: 1, attestation: { trust: 'Development', developmentPublicKey: 'pem', bundleUrl: 'http://sim.local' } };
const wanted: RolloutRecord = { at: '2026-01-01T00:00:00Z', reason: 'ReleaseChanged', fromDigest: 'old', toDigest: 'new' };
const withRecord = (record: RolloutRecord | undefined): InferenceEndpoint => ({ ...endpoint('e', spec), status: record ? { attestation: { lastRollout: record } } : {} });
const pacer = (max = 1): RolloutPacer => new RolloutPacer({ now: () => 0 }, { maxConcurrent: max, turnTimeoutMs: 60_000 });
const deployment = (settled: boolean): V1Deployment => ({ metadata: { generation: 2 }, spec: { selector: {}, template: {} }, status: settled ? { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } : { observedGeneration: 1, replicas: 2, updatedReplicas: 0, availableReplicas: 1 } });

describe('rollout step', () => {
  it('records a new transition, and rolls without recording again when the status holds it already (whatever its time)', () => {
    expect(rolloutStep({ key: 'ns/e', endpoint: withRecord(undefined), wanted, group: 'up' }, undefined)).toEqual({ kind: 'record', record: wanted });
    const recorded = withRecord({ ...wanted, at: '2025-12-31T23:59:00Z' });
    expect(alreadyRecorded(recorded, wanted)).toBe(true);
    expect(rolloutStep({ key: 'ns/e', endpoint: recorded, wanted, group: 'up' }, undefined)).toEqual({ kind: 'roll', record: wanted });
    // A record of another transition (the previous one) is not this one.
    expect(alreadyRecorded(withRecord({ ...wanted, fromDigest: 'older', toDigest: 'old' }), wanted)).toBe(false);
    expect(rolloutStep({ key: 'ns/e', endpoint: withRecord(undefined), wanted: undefined, group: 'up' }, undefined)).toEqual({ kind: 'none' });
  });

  it('waits for a turn while another endpoint of the upstream rolls, and takes it once that one has rolled out', () => {
    const p = pacer(1);
    expect(rolloutStep({ key: 'ns/a', endpoint: withRecord(undefined), wanted, group: 'up' }, p).kind).toBe('record');
    expect(rolloutStep({ key: 'ns/b', endpoint: withRecord(undefined), wanted, group: 'up' }, p)).toMatchObject({ kind: 'wait', turn: { position: 1, rolling: 1 } });
    // a's Deployment carries the new release and has not rolled out: it keeps the turn.
    reportProgress(p, { key: 'ns/a', group: 'up', endpoint: withRecord(wanted), deployment: deployment(false), stamped: 'new' });
    expect(rolloutStep({ key: 'ns/b', endpoint: withRecord(undefined), wanted, group: 'up' }, p).kind).toBe('wait');
    reportProgress(p, { key: 'ns/a', group: 'up', endpoint: withRecord(wanted), deployment: deployment(true), stamped: 'new' });
    expect(rolloutStep({ key: 'ns/b', endpoint: withRecord(undefined), wanted, group: 'up' }, p).kind).toBe('record');
  });

  it('counts a rollout a previous leader began (recorded, stamped, not rolled out) against the limit', () => {
    const p = pacer(1);
    reportProgress(p, { key: 'ns/inherited', group: 'up', endpoint: withRecord(wanted), deployment: deployment(false), stamped: 'new' });
    expect(rolloutStep({ key: 'ns/b', endpoint: withRecord(undefined), wanted, group: 'up' }, p).kind).toBe('wait');
  });
});
