import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { networkPolicyFor } from './networking.ts';

const apiPeers = (e: InferenceEndpoint): unknown[] => {
  const policy: V1NetworkPolicy = networkPolicyFor(e, { apiServerPorts: [] });
  const rule = policy.spec!.ingress!.find((r) => r.ports!.some((p) => p.port === 8080))!;
  return rule._from ?? [];
};

describe('callers from other namespaces', () => {
  it('admits only the endpoint\'s own namespace by default', () => {
    expect(apiPeers(endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, callers: { auth: 'serviceaccount', audiences: ['a'] } }))).toEqual([{ podSelector: {} }]);
  });

  it('admits the named namespaces to the API port, by the name label the API server sets, when callers authenticate', () => {
    const shared = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, callers: { auth: 'serviceaccount', audiences: ['a'], fromNamespaces: ['team-c', 'team-b'] } });
    expect(apiPeers(shared)).toEqual([
      { podSelector: {} },
      { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-b', 'team-c'] }] } },
    ]);
    // The metrics port stays as it was: scrapers anywhere, nothing more.
    const metrics = networkPolicyFor(shared, { apiServerPorts: [] }).spec!.ingress!.find((r) => r.ports!.some((p) => p.port === 9090))!;
    expect(metrics._from).toEqual([{ namespaceSelector: {} }]);
  });

  it('never widens the NetworkPolicy for auth none, even if the field got past the CRD', () => {
    const open = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, callers: { auth: 'none', fromNamespaces: ['team-b'] } });
    expect(apiPeers(open)).toEqual([{ podSelector: {} }]);
  });
});
