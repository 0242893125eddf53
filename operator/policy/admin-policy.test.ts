import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { developmentTrustAllowed, limitsStoreAllowed, policyViolations } from './admin-policy.ts';
import { builtInPolicy, type AdminPolicy } from './model.ts';
import { parsePolicy } from './load.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { hostAllowed } from './urls.ts';

const OWN_IMAGE = 'registry.local/attested-inference-proxy@sha256:' + 'a'.repeat(64);
const options = { proxyImage: OWN_IMAGE, allowDevelopmentTrust: true };
const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';

const tinfoil = (extra: Record<string, unknown> = {}, namespace = 'team-a'): InferenceEndpoint => endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, ...extra }, namespace);
const unattested = (url: string, namespace = 'team-a'): InferenceEndpoint => endpoint('plain', { provider: 'openai-compatible', acknowledgeUnattested: true, upstream: { url }, apiKeySecretRef: { name: 'k' } }, namespace);
const development = (namespace = 'team-a'): InferenceEndpoint => tinfoil({ upstream: { url: 'http://127.0.0.1:9000' }, attestation: { trust: 'Development', developmentPublicKey: PEM, bundleUrl: 'http://127.0.0.1:9000' } }, namespace);

const policy: AdminPolicy = parsePolicy({
  default: { proxyImages: ['registry.local/custom-proxy@sha256:' + 'b'.repeat(64)], unattestedUpstreamHosts: ['api.allowed.example', 'llm.allowed.example:8443'], limitsStores: ['rediss://redis.limits.svc:6380'], developmentTrust: false },
  namespaces: { 'team-b': { unattestedUpstreamHosts: ['team-b.example'], developmentTrust: true } },
}, true);

describe('the admin policy check', () => {
  it('allows what the built-in default allows: the operator\'s image, the default config repository, a tinfoil upstream', () => {
    expect(policyViolations(tinfoil(), builtInPolicy(false), options)).toEqual([]);
    expect(policyViolations(tinfoil({ proxy: { image: OWN_IMAGE } }), builtInPolicy(false), options)).toEqual([]);
  });

  it('refuses a tenant\'s proxy image, naming the field and the policy', () => {
    const [violation, ...rest] = policyViolations(tinfoil({ proxy: { image: 'evil.example/proxy:1' } }), builtInPolicy(false), options);
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({ field: 'spec.proxy.image', rule: 'proxyImages' });
    expect(violation?.message).toContain('spec.proxy.image "evil.example/proxy:1" is not allowed by policy attested-inference-policy (proxyImages)');
    expect(policyViolations(tinfoil({ proxy: { image: 'registry.local/custom-proxy@sha256:' + 'b'.repeat(64) } }), policy, options)).toEqual([]);
  });

  it('refuses a foreign config repository as the trust root of Verified attestation', () => {
    const [violation] = policyViolations(tinfoil({ attestation: { configRepo: 'evil/router' } }), builtInPolicy(false), options);
    expect(violation).toMatchObject({ field: 'spec.attestation.configRepo', rule: 'configRepos' });
    expect(violation?.message).toContain('"evil/router" is not allowed by policy attested-inference-policy (configRepos)');
  });

  it('refuses development trust unless the flag and the namespace\'s policy both allow it', () => {
    expect(policyViolations(development(), builtInPolicy(false), { ...options, allowDevelopmentTrust: false })[0]?.message).toContain('--allow-development-trust');
    expect(policyViolations(development(), builtInPolicy(true), options)).toEqual([]);
    expect(policyViolations(development(), policy, options)).toMatchObject([{ field: 'spec.attestation.trust', rule: 'developmentTrust' }]);
    expect(policyViolations(development('team-b'), policy, options)).toEqual([]);
    expect(policyViolations(development('team-b'), policy, { ...options, allowDevelopmentTrust: false })).toHaveLength(1);
    expect(developmentTrustAllowed(policy, 'team-b', true)).toBe(true);
    expect(developmentTrustAllowed(policy, 'team-b', false)).toBe(false);
  });

  it('lets an openai-compatible endpoint send only to a listed host', () => {
    expect(policyViolations(unattested('https://api.allowed.example/v1'), builtInPolicy(false), options)[0]?.message).toContain('the policy lists none');
    expect(policyViolations(unattested('https://api.allowed.example/v1'), policy, options)).toEqual([]);
    expect(policyViolations(unattested('https://API.Allowed.Example./v1'), policy, options)).toEqual([]);
    expect(policyViolations(unattested('https://llm.allowed.example:8443/v1'), policy, options)).toEqual([]);
    const [violation] = policyViolations(unattested('https://evil.example/v1'), policy, options);
    expect(violation).toMatchObject({ field: 'spec.upstream.url', rule: 'unattestedUpstreamHosts' });
    expect(violation?.message).toContain('"https://evil.example/v1" is not allowed by policy attested-inference-policy (unattestedUpstreamHosts)');
  });

  it('is not fooled by URLs that only look like they go to a listed host', () => {
    const list = ['api.allowed.example', 'llm.allowed.example:8443'];
    for (const url of [
      'https://api.allowed.example@evil.example/v1',
      'https://api.allowed.example:pw@evil.example/',
      'https://user@api.allowed.example/v1',
      'https://evil.example/api.allowed.example',
      'https://evil.example?host=api.allowed.example',
      'https://evil.example#api.allowed.example',
      'https://api.allowed.example.evil.example/',
      'https://evilapi.allowed.example/',
      'https://api.allowed.example:8443/',
      'https://llm.allowed.example/',
      'https://llm.allowed.example:9443/',
      'ftp://api.allowed.example/',
      'not a url',
    ]) expect(hostAllowed(url, list), url).toBe(false);
    for (const url of ['https://api.allowed.example', 'http://api.allowed.example:80/x', 'https://api.allowed.example:443/v1', 'https://llm.allowed.example:8443/v1']) expect(hostAllowed(url, list), url).toBe(true);
    expect(policyViolations(unattested('https://api.allowed.example@evil.example/'), policy, options)[0]?.message).toContain('user information');
  });

  it('lets a limits store be named only when the policy lists it (normalised)', () => {
    const store = (url: string): InferenceEndpoint => tinfoil({ limitsStore: { redis: { url } } });
    expect(policyViolations(store('rediss://redis.limits.svc:6380'), policy, options)).toEqual([]);
    expect(policyViolations(store('REDISS://Redis.Limits.svc:6380/'), policy, options)).toEqual([]);
    expect(policyViolations(store('rediss://redis.tenant.svc:6380'), policy, options)).toMatchObject([{ field: 'spec.limitsStore.redis.url', rule: 'limitsStores' }]);
    expect(policyViolations(store('rediss://redis.limits.svc:6380'), builtInPolicy(false), options)).toHaveLength(1);
    expect(limitsStoreAllowed(policy, 'team-a', 'rediss://redis.limits.svc:6380/')).toBe(true);
    expect(limitsStoreAllowed(policy, 'team-a', 'rediss://redis.limits.svc:6380/1')).toBe(false);
  });

  it('applies a namespace exception in that namespace only, and names it', () => {
    expect(policyViolations(unattested('https://team-b.example/v1', 'team-b'), policy, options)).toEqual([]);
    expect(policyViolations(unattested('https://team-b.example/v1', 'team-a'), policy, options)).toHaveLength(1);
    // The exception replaces the default's list for team-b: the default's hosts are not allowed there.
    expect(policyViolations(unattested('https://api.allowed.example/v1', 'team-b'), policy, options)[0]?.message).toContain('(unattestedUpstreamHosts for namespace team-b)');
  });

  it('reports every violation of one endpoint', () => {
    const everything = endpoint('all', {
      provider: 'openai-compatible', acknowledgeUnattested: true, upstream: { url: 'http://evil.example' }, apiKeySecretRef: { name: 'k' },
      attestation: { trust: 'Development', developmentPublicKey: PEM }, proxy: { image: 'evil.example/proxy:1' }, limitsStore: { redis: { url: 'redis://evil.example:6379' } },
    });
    expect(policyViolations(everything, builtInPolicy(false), { ...options, allowDevelopmentTrust: false }).map((v) => v.rule)).toEqual(['proxyImages', 'developmentTrust', 'unattestedUpstreamHosts', 'limitsStores']);
  });
});
