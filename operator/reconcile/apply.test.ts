import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { AppliedRecords, stillAsWritten } from './apply.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
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
  const endpoint = { apiVersion: owner.apiVersion, kind: owner.kind, metadata: { name: 'chat', namespace: 'team', uid: 'u-1' }, spec: {} } as unknown as InferenceEndpoint;

  /** fakePort answers liveMetadata from `cached` and readMetadata from `live`, counting reads and writes. */
  function fakePort(cached: () => Partial<V1ObjectMeta> | undefined, live: () => Partial<V1ObjectMeta> | undefined = cached): { port: ClusterPort; written: { how: string; object: KubernetesObject }[]; reads: () => number } {
    const written: { how: string; object: KubernetesObject }[] = [];
    let version = 0;
    let reads = 0;
    const store = (how: string) => (object: KubernetesObject): Promise<KubernetesObject> => {
      written.push({ how, object });
      version += 1;
      return Promise.resolve({ ...object, metadata: Object.assign({}, object.metadata, { resourceVersion: String(version), generation: 1 }) });
    };
    const port = {
      liveMetadata: () => Promise.resolve(cached()),
      readMetadata: () => {
        reads += 1;
        return Promise.resolve(live());
      },
      apply: store('apply'),
      create: store('create'),
    } as unknown as ClusterPort;
    return { port, written, reads: () => reads };
  }
  const deployment: KubernetesObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: desired };

  async function planAndWrite(records: AppliedRecords, port: ClusterPort, object: KubernetesObject): Promise<string> {
    const plan = await records.plan(port, endpoint, object);
    if (plan.decision === 'Create' || plan.decision === 'Apply') await records.write(port, object, plan);
    return plan.decision;
  }

  it('writes once, then not while the child stays as written, and again after drift or a desired change', async () => {
    let live: Partial<V1ObjectMeta> | undefined = { ...desired, uid: 'd-1', resourceVersion: '1', generation: 1 };
    const { port, written, reads } = fakePort(() => live);
    const records = new AppliedRecords();
    expect(await planAndWrite(records, port, deployment)).toBe('Apply');
    expect(await planAndWrite(records, port, deployment)).toBe('Skip');
    live = { ...desired, uid: 'd-1', resourceVersion: '7', generation: 1 };
    expect(await planAndWrite(records, port, deployment)).toBe('Skip');
    live = { ...desired, uid: 'd-1', resourceVersion: '8', generation: 2 };
    expect(await planAndWrite(records, port, deployment)).toBe('Apply');
    live = undefined;
    expect(await planAndWrite(records, port, deployment)).toBe('Create');
    live = { ...desired, uid: 'd-2', resourceVersion: '3', generation: 1 };
    expect(await planAndWrite(records, port, { ...deployment, metadata: { ...desired, labels: { app: 'proxy', tier: 'new' } } })).toBe('Apply');
    expect(written.map((w) => w.how)).toEqual(['apply', 'apply', 'create', 'apply']);
    // Only the absent child was read past the cache.
    expect(reads()).toBe(1);
  });

  it('applies with the live UID as a precondition, so a replacement of the name is refused rather than overwritten', async () => {
    const { port, written } = fakePort(() => ({ ...desired, uid: 'd-9', resourceVersion: '1', generation: 1 }));
    await planAndWrite(new AppliedRecords(), port, deployment);
    expect(written[0]?.object.metadata?.uid).toBe('d-9');
  });

  it('reads past the cache when the name is absent there or held by an object that is not ours, and claims nothing it does not control', async () => {
    const foreign = { name: 'chat-proxy', namespace: 'team', uid: 'x-1', resourceVersion: '4' };
    const { port, written, reads } = fakePort(() => undefined, () => foreign);
    const records = new AppliedRecords();
    expect(await records.plan(port, endpoint, deployment)).toMatchObject({ decision: 'Conflict', holder: 'Deployment team/chat-proxy (controlled by no object)' });
    const labelledCopy = fakePort(() => ({ ...foreign, labels: desired.labels }), () => ({ ...foreign, labels: desired.labels }));
    expect((await records.plan(labelledCopy.port, endpoint, deployment)).decision).toBe('Conflict');
    expect(labelledCopy.reads()).toBe(1);
    expect(reads()).toBe(1);
    expect(written).toEqual([]);
  });
});
