import type { V1ConfigMap, V1NetworkPolicy } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../proxy/config/load.ts';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { desiredChildren, type DesiredOptions } from './desired.ts';

const options: DesiredOptions = { image: { image: 'registry.local/proxy:1.0.0', pullPolicy: 'IfNotPresent' }, tokenReviewClusterRole: 'tokenreview', apiServerPorts: [6443] };

const jwtEndpoint = (jwt: Record<string, unknown>): ReturnType<typeof endpoint> =>
  endpoint('jwt', {
    provider: 'tinfoil',
    apiKeySecretRef: { name: 'k' },
    callers: { auth: 'jwt', jwt: { jwksUrl: 'https://login.example.com:8443/keys', issuer: 'https://login.example.com', audiences: ['inference'], ...jwt } },
  });

function configOf(e: ReturnType<typeof endpoint>, name: string): ReturnType<typeof parseConfig> {
  const map = desiredChildren(e, options).objects.find((o) => o.metadata?.name === name) as V1ConfigMap;
  return parseConfig(parse(map.data!['proxy.yaml']!));
}

describe('JWT callers in the rendered children', () => {
  it('renders spec.callers.jwt into a proxy configuration the proxy accepts, defaults included', () => {
    const config = configOf(jwtEndpoint({ callerClaim: 'client_id', callerLabel: 'allow-list', allowedCallers: ['billing'], maxTokenAgeSeconds: 3600 }), 'jwt-proxy-config');
    expect(config.auth.mode).toBe('jwt');
    expect(config.auth.jwt).toMatchObject({
      jwksUrl: 'https://login.example.com:8443/keys',
      issuer: 'https://login.example.com',
      audiences: ['inference'],
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      clockSkewSeconds: 30,
      maxTokenAgeSeconds: 3600,
      maxTokenBytes: 8192,
      callerClaim: 'client_id',
      callerLabel: 'allow-list',
      allowedCallers: ['billing'],
    });
  });

  it('keeps injected sidecars without caller auth', () => {
    expect(configOf(jwtEndpoint({}), 'jwt-proxy-sidecar-config').auth).toMatchObject({ mode: 'none' });
  });

  it('opens egress to the key set\'s port, and no API server port', () => {
    const policy = desiredChildren(jwtEndpoint({}), options).objects.find((o) => o.kind === 'NetworkPolicy') as V1NetworkPolicy;
    expect(policy.spec!.egress![1]!.ports!.map((p) => p.port)).toEqual([443, 8443]);
  });
});
