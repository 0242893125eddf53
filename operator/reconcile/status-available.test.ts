import type { V1Deployment, V1DeploymentCondition } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { MESSAGE_LIMIT } from '../api/v1alpha1/conditions.ts';
import type { InferenceEndpoint, InferenceEndpointStatus } from '../api/v1alpha1/types.ts';
import type { AttestationResult } from '../../proxy/attestation/types.ts';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { computeStatus, type StatusInputs } from './status.ts';

const now = new Date('2026-12-01T10:00:00Z');
const verified = (trust: 'Verified' | 'Development' = 'Verified'): StatusInputs['observation'] => ({
  status: 'verified',
  result: { trust, domain: 'x', releaseDigest: 'a'.repeat(64), measurementFingerprint: 'f'.repeat(8), hpkePublicKey: '0'.repeat(64), tlsPublicKeyFingerprint: undefined, verifiedAt: now } satisfies AttestationResult,
});
const base: InferenceEndpoint = { ...endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, replicas: 2 }), metadata: { name: 'chat', namespace: 'team-a', uid: 'u', generation: 4 } };

interface Shape {
  readonly generation?: number;
  readonly observed?: number;
  readonly replicas?: number;
  readonly updated?: number;
  readonly ready?: number;
  readonly conditions?: V1DeploymentCondition[];
}

/** deployment is the proxy Deployment as its controller reports it; by default settled at 2 ready pods. */
function deployment(s: Shape = {}): V1Deployment {
  const ready = s.ready ?? 2;
  return {
    metadata: { generation: s.generation ?? 7 },
    status: { observedGeneration: s.observed ?? s.generation ?? 7, replicas: s.replicas ?? 2, updatedReplicas: s.updated ?? 2, readyReplicas: ready, availableReplicas: ready, ...(s.conditions ? { conditions: s.conditions } : {}) },
  };
}

function compute(overrides: Partial<StatusInputs> = {}): InferenceEndpointStatus {
  return computeStatus({ endpoint: base, deployment: deployment(), observation: verified(), problems: [], url: 'http://chat.team-a.svc/v1', now, childrenWritten: true, routableAddresses: 2, ...overrides });
}

function conditions(s: InferenceEndpointStatus): Record<string, { status: string; reason: string; message: string; observedGeneration?: number }> {
  return Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
}

describe('Ready: the current generation rolled out', () => {
  it('is True only when the Deployment controller saw the current template and every pod runs it', () => {
    expect(conditions(compute()).Ready).toMatchObject({ status: 'True', reason: 'ProxyPodsReady' });
  });

  it('is False while the Deployment controller has not observed the template just written (ready pods are the old ones)', () => {
    expect(conditions(compute({ deployment: deployment({ generation: 8, observed: 7 }) })).Ready).toMatchObject({ status: 'False', reason: 'WaitingForRollout' });
  });

  it('is False while old pods remain beside the surge pod, even with enough ready pods', () => {
    const surging = deployment({ replicas: 3, updated: 1, ready: 3 });
    expect(conditions(compute({ deployment: surging })).Ready).toMatchObject({ status: 'False', reason: 'WaitingForRollout' });
  });

  it('is False while the new pods are not ready', () => {
    expect(conditions(compute({ deployment: deployment({ ready: 1 }) })).Ready).toMatchObject({ status: 'False', reason: 'WaitingForPods', message: '1 of 2 proxy pods are ready.' });
  });
});

describe('Available: what a client waits for', () => {
  it('is True when Ready, Attested and every pod is routable', () => {
    expect(conditions(compute()).Available).toMatchObject({ status: 'True', reason: 'Serving', observedGeneration: 4 });
    expect(conditions(compute({ observation: verified('Development') })).Available).toMatchObject({ status: 'True', reason: 'Serving' });
  });

  it('is False while Attested is not True, though every pod is ready (each request would be a 503)', () => {
    const a = conditions(compute({ observation: { status: 'failed', step: 'fetch', message: 'bundle unreachable' } }));
    expect(a.Ready).toMatchObject({ status: 'True' });
    expect(a.Available).toMatchObject({ status: 'False', reason: 'NotAttested' });
    expect(a.Available?.message).toContain('AttestationFailed');
    expect(conditions(compute({ observation: { status: 'pending' } })).Available).toMatchObject({ status: 'False', reason: 'NotAttested' });
  });

  it('is True for an acknowledged unattested upstream', () => {
    const plain = endpoint('plain', { provider: 'openai-compatible', acknowledgeUnattested: true, upstream: { url: 'http://127.0.0.1:1/v1' }, apiKeySecretRef: { name: 'k' }, replicas: 2 });
    expect(conditions(compute({ endpoint: plain, observation: { status: 'unattested' } })).Available).toMatchObject({ status: 'True', reason: 'Serving' });
  });

  it('is False until the Service routes to every desired pod', () => {
    expect(conditions(compute({ routableAddresses: 1 })).Available).toMatchObject({ status: 'False', reason: 'NotRoutable', message: expect.stringContaining('1 of 2') as unknown });
    expect(conditions(compute({ routableAddresses: undefined })).Available).toMatchObject({ status: 'False', reason: 'NotRoutable' });
  });

  it('is False while a connection through the Service does not go through (the nodes\' Service rules lag the EndpointSlices)', () => {
    expect(conditions(compute({ serviceReached: false })).Available).toMatchObject({ status: 'False', reason: 'NotRoutable', message: expect.stringContaining('Service rules are not in place') as unknown });
    expect(conditions(compute({ serviceReached: true })).Available).toMatchObject({ status: 'True', reason: 'Serving' });
  });

  it('is False while not Ready, and with no proxy', () => {
    expect(conditions(compute({ deployment: deployment({ generation: 8, observed: 7 }) })).Available).toMatchObject({ status: 'False', reason: 'ProxyNotReady' });
    const zero = { ...base, spec: { ...base.spec, replicas: 0 } };
    expect(conditions(compute({ endpoint: zero, deployment: deployment({ replicas: 0, updated: 0, ready: 0 }), routableAddresses: 0 })).Available).toMatchObject({ status: 'False', reason: 'NoProxy' });
  });
});

describe('observedGeneration', () => {
  const previous = compute({ endpoint: { ...base, metadata: { name: 'chat', namespace: 'team-a', uid: 'u', generation: 3 } } });
  const edited: InferenceEndpoint = { ...base, status: previous };

  it('advances with the generation whose children were all written', () => {
    const s = compute({ endpoint: edited });
    expect(s.observedGeneration).toBe(4);
    expect(s.conditions?.every((c) => c.observedGeneration === 4)).toBe(true);
  });

  it('stays on the previous generation (status and every condition) when a child write failed, and Degraded says why', () => {
    const s = compute({ endpoint: edited, childrenWritten: false, problems: [{ reason: 'ReconcileError', message: 'applying ConfigMap chat-proxy-sidecar-config failed: forbidden' }] });
    expect(s.observedGeneration).toBe(3);
    expect(s.conditions?.every((c) => c.observedGeneration === 3)).toBe(true);
    expect(conditions(s).Degraded).toMatchObject({ status: 'True', reason: 'ReconcileError', message: expect.stringContaining('forbidden') as unknown });
  });

  it('is absent when the first generation never had its children written', () => {
    const s = compute({ endpoint: base, childrenWritten: false, problems: [{ reason: 'ReconcileError', message: 'x' }] });
    expect(s.observedGeneration).toBeUndefined();
    expect(s.conditions?.some((c) => c.observedGeneration !== undefined)).toBe(false);
  });
});

describe('condition messages', () => {
  it(`are at most ${String(MESSAGE_LIMIT)} characters, ending in an ellipsis when cut`, () => {
    const huge = `applying Deployment chat-proxy failed: ${'x'.repeat(40_000)}`;
    const degraded = conditions(compute({ problems: [{ reason: 'ReconcileError', message: huge }] })).Degraded;
    expect(degraded?.message.length).toBe(MESSAGE_LIMIT);
    expect(degraded?.message.endsWith('…')).toBe(true);
    expect(degraded?.message.startsWith('applying Deployment chat-proxy failed: xxx')).toBe(true);
    const attested = conditions(compute({ observation: { status: 'failed', step: 'fetch', message: 'y'.repeat(5000) } })).Attested;
    expect(attested?.message.length).toBe(MESSAGE_LIMIT);
  });

  it('never split a surrogate pair', () => {
    const cut = conditions(compute({ problems: [{ reason: 'ReconcileError', message: `${'x'.repeat(MESSAGE_LIMIT - 2)}😀😀` }] })).Degraded?.message ?? '';
    expect(cut.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(cut.endsWith('x…')).toBe(true);
  });

  it('keep a short message whole', () => {
    expect(conditions(compute({ problems: [{ reason: 'ReconcileError', message: 'short' }] })).Degraded?.message).toBe('short');
  });
});

describe('a stuck rollout', () => {
  it('is Degraded RolloutStuck with the Deployment controller\'s message on ReplicaFailure (e.g. a ResourceQuota)', () => {
    const quota = 'pods "chat-proxy-7d9f-x" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2';
    const d = deployment({ generation: 8, observed: 8, replicas: 2, updated: 0, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: quota }] });
    const s = conditions(compute({ deployment: d }));
    expect(s.Degraded).toMatchObject({ status: 'True', reason: 'RolloutStuck' });
    expect(s.Degraded?.message).toContain(quota);
    expect(s.Ready).toMatchObject({ status: 'False' });
  });

  it('is Degraded RolloutStuck on ProgressDeadlineExceeded', () => {
    const d = deployment({ generation: 8, observed: 8, replicas: 3, updated: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "chat-proxy-7d9f" has timed out progressing.' }] });
    expect(conditions(compute({ deployment: d })).Degraded).toMatchObject({ status: 'True', reason: 'RolloutStuck', message: expect.stringContaining('timed out progressing') as unknown });
  });

  it('is not Degraded while the rollout progresses', () => {
    const d = deployment({ generation: 8, observed: 8, replicas: 3, updated: 1, conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: 'progressing' }] });
    expect(conditions(compute({ deployment: d })).Degraded).toMatchObject({ status: 'False', reason: 'Healthy' });
  });
});

describe('the scale subresource fields', () => {
  it('reports the pod count and the proxy pods\' selector', () => {
    const s = compute({ deployment: deployment({ replicas: 3, updated: 1, ready: 3 }) });
    expect(s.replicas).toBe(3);
    expect(s.selector).toBe('app.kubernetes.io/instance=chat,app.kubernetes.io/name=attested-inference-proxy');
  });
});
