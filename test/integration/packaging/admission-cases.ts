import { DEVELOPMENT_PUBLIC_KEY, MINIMAL_TINFOIL, type Spec } from '../operator/crd-cases.ts';

/** OWN_PROXY is the operator's own proxy image as the chart renders it with default values. */
export const OWN_PROXY = 'registry.local/attested-inference-proxy:0.1.0';
/** TEAM_PROXY is the extra proxy image the exception namespace may name. */
export const TEAM_PROXY = `registry.example/team-proxy@sha256:${'b'.repeat(64)}`;
/** TEAM_REPO is the extra config repo the exception namespace may name. */
export const TEAM_REPO = 'team-a/model-router';
/** SHARED_REDIS is the one limits store of the default policy. */
export const SHARED_REDIS = 'redis://limits.redis-system.svc:6379';
/** TEAM_HOST is the one unattested upstream host of the exception namespace (replacing the default's). */
export const TEAM_HOST = 'vllm.team.example';

/**
 * policyValues are the chart values of the test's policy (written unnormalised: upper case, a
 * trailing slash): three unattested hosts and one limits store
 * for every namespace; `exception` namespace adds a proxy image and a config repo (listing the
 * default's again) and replaces the upstream hosts with its own.
 */
export function policyValues(exception: string): { sets: string[]; jsonSets: string[] } {
  return {
    sets: [`policy.limitsStores={${SHARED_REDIS}/}`],
    jsonSets: [
      `policy.unattestedUpstreamHosts=${JSON.stringify(['Allowed.Example', 'api.allowed.example:8443', '[fd00::1]:8443'])}`,
      `policy.namespaces=${JSON.stringify({ [exception]: { proxyImages: [TEAM_PROXY], configRepos: ['tinfoilsh/confidential-model-router', TEAM_REPO], unattestedUpstreamHosts: [TEAM_HOST] } })}`,
    ],
  };
}

/** openai is an openai-compatible endpoint sending to `url`. */
export const openai = (url: string): Spec => ({ provider: 'openai-compatible', acknowledgeUnattested: true, upstream: { url }, apiKeySecretRef: { name: 'k' } });
/** tinfoil is a Tinfoil endpoint with `extra` spec fields. */
export const tinfoil = (extra: Spec): Spec => ({ ...MINIMAL_TINFOIL, ...extra });
/** redis is a Tinfoil endpoint with a limits store at `url`. */
export const redis = (url: string): Spec => tinfoil({ limitsStore: { redis: { url } }, rateLimits: { namespace: { requestsPerMinute: 10 } } });
/** development is a Tinfoil endpoint with Development trust. */
const DEVELOPMENT_ATTESTATION = { trust: 'Development', developmentPublicKey: DEVELOPMENT_PUBLIC_KEY };
export const development: Spec = tinfoil({ attestation: DEVELOPMENT_ATTESTATION });

/** AdmissionCase is a spec a tenant submits and what the API server must answer. */
export interface AdmissionCase {
  readonly title: string;
  readonly spec: Spec;
  /** refused is what the refusal must say (field and policy); undefined: admitted. */
  readonly refused?: RegExp;
}

const POLICY = 'is not allowed by policy attested-inference-policy';
/** refusal matches the API server's refusal naming `field`, the policy and `rule` (of the default, or of an exception's namespace). */
const refusal = (field: string, rule: string, scope = ''): RegExp => new RegExp(`${field.replaceAll('.', '\\.')} ".*" ${POLICY} \\(${rule}${scope}\\)`);
const IMAGE = refusal('spec.proxy.image', 'proxyImages');
const REPO = refusal('spec.attestation.configRepo', 'configRepos');
const TRUST = refusal('spec.attestation.trust', 'developmentTrust');
const HOST = refusal('spec.upstream.url', 'unattestedUpstreamHosts');
const STORE = refusal('spec.limitsStore.redis.url', 'limitsStores');
const EXCEPTED = ' for namespace aio-except-[0-9a-f]+';

/** TENANT_CASES are submitted in an ordinary namespace: the default policy applies. */
export const TENANT_CASES: readonly AdmissionCase[] = [
  { title: 'a compliant Tinfoil endpoint', spec: MINIMAL_TINFOIL },
  { title: "the operator's own proxy image, named", spec: tinfoil({ proxy: { image: OWN_PROXY } }) },
  { title: "the tenant's own proxy image", spec: tinfoil({ proxy: { image: 'evil.example/proxy:1' } }), refused: /spec\.proxy\.image "evil\.example\/proxy:1" is not allowed by policy attested-inference-policy \(proxyImages\)/ },
  { title: "another namespace's exception image", spec: tinfoil({ proxy: { image: TEAM_PROXY } }), refused: IMAGE },
  { title: 'a foreign config repo (trust root)', spec: tinfoil({ attestation: { configRepo: 'evil/router' } }), refused: REPO },
  { title: "another namespace's exception config repo", spec: tinfoil({ attestation: { configRepo: TEAM_REPO } }), refused: REPO },
  { title: 'Development trust while the policy has it off', spec: development, refused: /spec\.attestation\.trust "Development" is not allowed by policy attested-inference-policy \(developmentTrust\)/ },
  { title: 'Development trust with a foreign config repo: refused for its trust', spec: tinfoil({ attestation: { ...DEVELOPMENT_ATTESTATION, configRepo: 'evil/router' } }), refused: TRUST },
  { title: 'openai-compatible with a foreign config repo (never read: not attested)', spec: { ...openai('https://allowed.example/'), attestation: { configRepo: 'evil/router' } } },
  { title: 'openai-compatible to a listed host', spec: openai('https://allowed.example/') },
  { title: 'openai-compatible to a listed host, its default port named, other case', spec: openai('https://Allowed.Example:443/v1') },
  { title: 'openai-compatible to a listed host, its name fully qualified (trailing dot)', spec: openai('https://allowed.example./') },
  { title: 'openai-compatible to a listed host:port', spec: openai('https://api.allowed.example:8443') },
  { title: 'openai-compatible to an unlisted host', spec: openai('https://evil.example/'), refused: HOST },
  { title: 'openai-compatible to a listed host on another port', spec: openai('https://allowed.example:8443/'), refused: HOST },
  { title: 'openai-compatible to a listed host:port on the default port', spec: openai('https://api.allowed.example/'), refused: HOST },
  { title: 'openai-compatible to a listed IPv6 literal and port', spec: openai('https://[fd00::1]:8443/') },
  { title: 'openai-compatible to a listed IPv6 literal on another port', spec: openai('https://[fd00::1]/'), refused: HOST },
  { title: 'openai-compatible to a subdomain of a listed host', spec: openai('https://evil.allowed.example/'), refused: HOST },
  // The CRD's URL pattern already refuses userinfo (schema, before admission): refused either way.
  { title: 'openai-compatible with a listed host as userinfo', spec: openai('https://allowed.example@evil.example/'), refused: /spec\.upstream\.url/ },
  { title: "openai-compatible to another namespace's exception host", spec: openai(`https://${TEAM_HOST}/`), refused: HOST },
  { title: 'the listed limits store', spec: redis(SHARED_REDIS) },
  { title: 'the listed limits store, its host in upper case', spec: redis(SHARED_REDIS.replace('limits.', 'LIMITS.')) },
  { title: 'an unlisted limits store', spec: redis('redis://evil.example:6379'), refused: STORE },
  { title: 'the listed limits store on another database', spec: redis(`${SHARED_REDIS}/1`), refused: STORE },
];

/** EXCEPTION_CASES are submitted in the exception namespace: its keys replace the default's, the rest stays. */
export const EXCEPTION_CASES: readonly AdmissionCase[] = [
  { title: 'its exception proxy image', spec: tinfoil({ proxy: { image: TEAM_PROXY } }) },
  { title: "the operator's own proxy image", spec: tinfoil({ proxy: { image: OWN_PROXY } }) },
  { title: 'another proxy image', spec: tinfoil({ proxy: { image: 'evil.example/proxy:1' } }), refused: refusal('spec.proxy.image', 'proxyImages', EXCEPTED) },
  { title: 'its exception config repo', spec: tinfoil({ attestation: { configRepo: TEAM_REPO } }) },
  { title: 'the default config repo, listed again by the exception', spec: MINIMAL_TINFOIL },
  { title: 'a foreign config repo', spec: tinfoil({ attestation: { configRepo: 'evil/router' } }), refused: refusal('spec.attestation.configRepo', 'configRepos', EXCEPTED) },
  { title: 'its exception host', spec: openai(`https://${TEAM_HOST}/`) },
  { title: "the default's host, replaced by its own", spec: openai('https://allowed.example/'), refused: refusal('spec.upstream.url', 'unattestedUpstreamHosts', EXCEPTED) },
  { title: 'Development trust (not excepted)', spec: development, refused: refusal('spec.attestation.trust', 'developmentTrust', EXCEPTED) },
  { title: 'the default limits store (not excepted: inherited)', spec: redis(SHARED_REDIS) },
  { title: 'an unlisted limits store', spec: redis('redis://evil.example:6379'), refused: refusal('spec.limitsStore.redis.url', 'limitsStores', EXCEPTED) },
];
