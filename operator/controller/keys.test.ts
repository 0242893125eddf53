import { describe, expect, it } from 'vitest';
import { errorMessage, isConflict, isGone, isNotFound, statusCode } from './api-errors.ts';
import { annotationMapper, labelMapper, objectKey, ownerMapper, splitKey } from './keys.ts';
import { collectionPath } from './rest.ts';

describe('keys and mappers', () => {
  it('round-trips namespaced and cluster-scoped keys', () => {
    expect(objectKey({ metadata: { namespace: 'ns', name: 'a' } })).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'node-1' } })).toBe('node-1');
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('node-1')).toEqual({ namespace: '', name: 'node-1' });
  });

  it('maps an owned object to owners of the right kind and group, in its own namespace', () => {
    const map = ownerMapper({ apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint' });
    const owned = {
      metadata: {
        namespace: 'team',
        name: 'ep-proxy',
        ownerReferences: [
          { apiVersion: 'inference.attested.dev/v1beta1', kind: 'InferenceEndpoint', name: 'ep', uid: '1', controller: true },
          { apiVersion: 'other.dev/v1alpha1', kind: 'InferenceEndpoint', name: 'foreign', uid: '2' },
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: '3' },
          { apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint', name: 'secondary', uid: '4' },
        ],
      },
    };
    expect(map(owned)).toEqual(['team/ep', 'team/secondary']);
    expect(ownerMapper({ apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint' }, { controllerOnly: true })(owned)).toEqual(['team/ep']);
    expect(map({ metadata: { namespace: 'team', name: 'orphan' } })).toEqual([]);
  });

  it('maps by label or annotation value', () => {
    const pod = { metadata: { namespace: 'app', name: 'p', labels: { 'inference.attested.dev/endpoint': 'ep' }, annotations: { 'inference.attested.dev/inject': 'other' } } };
    expect(labelMapper('inference.attested.dev/endpoint')(pod)).toEqual(['app/ep']);
    expect(annotationMapper('inference.attested.dev/inject')(pod)).toEqual(['app/other']);
    expect(labelMapper('missing')(pod)).toEqual([]);
  });
});

describe('REST paths and API errors', () => {
  it('builds collection paths for core and grouped, namespaced and cluster-wide resources', () => {
    const configMaps = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
    expect(collectionPath(configMaps, 'ns')).toBe('/api/v1/namespaces/ns/configmaps');
    expect(collectionPath(configMaps, undefined)).toBe('/api/v1/configmaps');
    expect(collectionPath({ apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true }, 'ns')).toBe('/apis/apps/v1/namespaces/ns/deployments');
    expect(collectionPath({ apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false }, 'ignored')).toBe('/api/v1/namespaces');
  });

  it('reads status codes from every shape the client throws', () => {
    expect(statusCode({ code: 404 })).toBe(404);
    expect(statusCode({ statusCode: 410 })).toBe(410);
    expect(statusCode({ body: { code: 409 } })).toBe(409);
    expect(statusCode(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(isNotFound({ code: 404 }) && isConflict({ code: 409 }) && isGone({ statusCode: 410 })).toBe(true);
    expect(errorMessage({ body: '{"message":"configmaps \\"x\\" not found"}' })).toBe('configmaps "x" not found');
    expect(errorMessage(new Error('plain'))).toBe('plain');
  });
});
