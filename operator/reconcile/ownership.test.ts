import type { V1ManagedFieldsEntry, V1OwnerReference } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { appliedManagedFields, claimFor, conflictMessage, controlledBy } from './ownership.ts';

const endpoint = { apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint', metadata: { name: 'chat', namespace: 'team', uid: 'u-1' }, spec: {} } as unknown as InferenceEndpoint;
const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'chat', namespace: 'team' } };
const reference = (extra: Record<string, unknown>): V1OwnerReference => ({ apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint', name: 'chat', uid: 'u-1', controller: true, ...extra });

describe('controlledBy', () => {
  it('holds only for a controller reference to the endpoint\'s UID', () => {
    expect(controlledBy({ ownerReferences: [reference({})] }, endpoint)).toBe(true);
    expect(controlledBy({ ownerReferences: [reference({ controller: false })] }, endpoint)).toBe(false);
    expect(controlledBy({ ownerReferences: [reference({ uid: 'u-0' })] }, endpoint)).toBe(false);
    expect(controlledBy({ ownerReferences: [reference({ kind: 'Deployment' })] }, endpoint)).toBe(false);
    expect(controlledBy({ ownerReferences: [reference({ apiVersion: 'example.com/v1' })] }, endpoint)).toBe(false);
    expect(controlledBy({ labels: { 'app.kubernetes.io/managed-by': 'attested-inference-operator' } }, endpoint)).toBe(false);
    expect(controlledBy(undefined, endpoint)).toBe(false);
  });

  it('never holds for an endpoint without a UID (an empty UID matches nothing)', () => {
    const unsaved = { ...endpoint, metadata: { name: 'chat', namespace: 'team' } } as unknown as InferenceEndpoint;
    expect(controlledBy({ ownerReferences: [reference({ uid: '' })] }, unsaved)).toBe(false);
  });
});

describe('claimFor', () => {
  it('creates a free name and applies to its own object with that object\'s UID', () => {
    expect(claimFor(endpoint, service, undefined)).toEqual({ decision: 'Create' });
    expect(claimFor(endpoint, service, { uid: 's-1', ownerReferences: [reference({})] })).toEqual({ decision: 'Apply', uid: 's-1' });
  });

  it('is a conflict for an unowned object, naming it and saying no object controls it', () => {
    expect(claimFor(endpoint, service, { uid: 's-2', labels: { team: 'payments' } })).toEqual({ decision: 'Conflict', holder: 'Service team/chat (controlled by no object)' });
  });

  it('is a conflict for an object another endpoint or another kind controls, naming the controller', () => {
    expect(claimFor(endpoint, service, { ownerReferences: [reference({ name: 'other', uid: 'u-7' })] })).toEqual({ decision: 'Conflict', holder: 'Service team/chat (controlled by InferenceEndpoint other (uid u-7))' });
    expect(claimFor(endpoint, service, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-1', controller: true }] }).decision).toBe('Conflict');
  });

  it('waits for the garbage collector on a child of an earlier endpoint of the same name (it no longer exists: names are unique)', () => {
    expect(claimFor(endpoint, service, { ownerReferences: [reference({ uid: 'u-0' })] })).toMatchObject({ decision: 'AwaitCollection' });
  });
});

describe('conflictMessage', () => {
  it('names every held object and says what to do', () => {
    const message = conflictMessage(['Service team/chat (controlled by no object)', 'ConfigMap team/chat-proxy-config (controlled by no object)']);
    expect(message).toContain('Service team/chat');
    expect(message).toContain('ConfigMap team/chat-proxy-config');
    expect(message).toContain('Rename the endpoint or remove the object');
  });
});

describe('appliedManagedFields', () => {
  const time = new Date(0);
  it('turns the manager\'s create (Update) entry into an Apply entry and leaves other managers\' and subresource entries alone', () => {
    const entries: V1ManagedFieldsEntry[] = [
      { manager: 'attested-inference-operator', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} }, time },
      { manager: 'attested-inference-operator', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} }, subresource: 'status', time },
      { manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} }, time },
    ];
    expect(appliedManagedFields(entries, 'attested-inference-operator').map((e) => `${e.manager}/${e.operation ?? ''}/${e.subresource ?? ''}`)).toEqual([
      'attested-inference-operator/Apply/',
      'attested-inference-operator/Update/status',
      'kubectl/Update/',
    ]);
    expect(appliedManagedFields(entries, 'attested-inference-operator')[0]?.fieldsV1).toEqual({ 'f:data': {} });
    expect(appliedManagedFields(undefined, 'x')).toEqual([]);
  });
});
