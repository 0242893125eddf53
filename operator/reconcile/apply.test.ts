import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { AppliedRecords, stillAsWritten } from './apply.ts';
import type { ClusterPort } from './port.ts';

const owner = { apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint', name: 'chat', uid: 'u-1', controller: true };
const desired = { name: 'chat-proxy', namespace: 'team', labels: { app: 'proxy' }, annotations: { note: 'ours' }, ownerReferences: [owner] };

describe('stillAsWritten', () => {
  const record = { resourceVersion: '10', generation: 2 };

  it('holds while the resourceVersion is the one written', () => {
    expect(stillAsWritten(record, { resourceVersion: '10' }, desired)).toBe(true);
  });

  it('holds for a status-only update: same generation, our metadata in place', () => {
    expect(stillAsWritten(record, { resourceVersion: '11', generation: 2, labels: { app: 'proxy', extra: 'x' }, annotations: { note: 'ours' }, ownerReferences: [owner] }, desired)).toBe(true);
  });

  it('does not hold after a spec edit (generation moved)', () => {
    expect(stillAsWritten(record, { resourceVersion: '11', generation: 3, labels: { app: 'proxy' }, annotations: { note: 'ours' }, ownerReferences: [owner] }, desired)).toBe(false);
  });

  it('does not hold when our label, annotation or owner reference was changed or removed', () => {
    const base = { resourceVersion: '11', generation: 2, labels: { app: 'proxy' }, annotations: { note: 'ours' }, ownerReferences: [owner] };
    expect(stillAsWritten(record, { ...base, labels: { app: 'other' } }, desired)).toBe(false);
    expect(stillAsWritten(record, { ...base, annotations: {} }, desired)).toBe(false);
    expect(stillAsWritten(record, { ...base, ownerReferences: [] }, desired)).toBe(false);
  });

  it('does not hold for a kind without generation whose resourceVersion moved (a ConfigMap someone edited)', () => {
    expect(stillAsWritten({ resourceVersion: '10', generation: undefined }, { resourceVersion: '11', labels: { app: 'proxy' } }, desired)).toBe(false);
  });
});

describe('AppliedRecords', () => {
  function fakePort(live: () => Partial<V1ObjectMeta> | undefined): { port: ClusterPort; applied: KubernetesObject[] } {
    const applied: KubernetesObject[] = [];
    let version = 0;
    const port = {
      liveMetadata: () => Promise.resolve(live()),
      apply: (object: KubernetesObject) => {
        applied.push(object);
        version += 1;
        return Promise.resolve({ ...object, metadata: Object.assign({}, object.metadata, { resourceVersion: String(version), generation: 1 }) });
      },
    } as unknown as ClusterPort;
    return { port, applied };
  }
  const deployment: KubernetesObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: desired };

  it('writes once, then not while the child stays as written, and again after drift or a desired change', async () => {
    let live: Partial<V1ObjectMeta> | undefined = { ...desired, resourceVersion: '1', generation: 1 };
    const { port, applied } = fakePort(() => live);
    const records = new AppliedRecords();
    expect(await records.applyIfChanged(port, deployment)).toBeDefined();
    expect(await records.applyIfChanged(port, deployment)).toBeUndefined();
    live = { ...desired, resourceVersion: '7', generation: 1 };
    expect(await records.applyIfChanged(port, deployment)).toBeUndefined();
    live = { ...desired, resourceVersion: '8', generation: 2 };
    expect(await records.applyIfChanged(port, deployment)).toBeDefined();
    live = undefined;
    expect(await records.applyIfChanged(port, deployment)).toBeDefined();
    live = { ...desired, resourceVersion: '3', generation: 1 };
    expect(await records.applyIfChanged(port, { ...deployment, metadata: { ...desired, labels: { app: 'proxy', tier: 'new' } } })).toBeDefined();
    expect(applied).toHaveLength(4);
  });
});
