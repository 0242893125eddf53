import { describe, expect, it } from 'vitest';
import { diffCounts, isWrite, requestKey } from './api-counter.ts';

describe('requestKey', () => {
  it.each([
    ['GET', '/api/v1/namespaces/a/configmaps/b', 'get configmaps'],
    ['GET', '/api/v1/namespaces/a/events?fieldSelector=x', 'list events'],
    ['GET', '/apis/apps/v1/deployments?watch=true&labelSelector=x', 'watch deployments'],
    ['PATCH', '/apis/apps/v1/namespaces/a/deployments/b?fieldManager=m', 'patch deployments'],
    ['PUT', '/apis/inference.attested.dev/v1alpha1/namespaces/a/inferenceendpoints/b/status', 'update inferenceendpoints/status'],
    ['POST', '/apis/events.k8s.io/v1/namespaces/a/events', 'create events'],
    ['DELETE', '/api/v1/namespaces/a/pods', 'deletecollection pods'],
    ['GET', '/api/v1/namespaces', 'list namespaces'],
    ['GET', '/api/v1/namespaces/a', 'get namespaces'],
    ['GET', '/apis/policy/v1', 'GET /apis/policy/v1'],
  ])('%s %s is "%s"', (method, url, key) => {
    expect(requestKey(method, url)).toBe(key);
  });
});

describe('counting', () => {
  it('tells writes from reads and subtracts snapshots', () => {
    expect(['create events', 'patch deployments', 'update leases', 'delete pods'].every(isWrite)).toBe(true);
    expect(['get configmaps', 'list events', 'watch deployments', 'GET /apis/policy/v1'].some(isWrite)).toBe(false);
    expect(diffCounts({ 'get a': 3, 'patch b': 2, 'list c': 1 }, { 'get a': 1, 'patch b': 2 })).toEqual({ 'get a': 2, 'list c': 1 });
  });
});
