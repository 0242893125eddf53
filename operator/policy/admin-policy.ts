import { upstreamUrl } from '../api/v1alpha1/values.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { builtInPolicy, rulesFor, type AdminPolicy, type PolicyRules, type RuleName } from './model.ts';
import { hostAllowed, normaliseStoreUrl, upstreamHost } from './urls.ts';

/** PolicyViolation is one thing an endpoint asks for that the admin policy refuses; `message` names the field and the policy. */
export interface PolicyViolation {
  readonly field: string;
  /** rule is the policy rule refused, or operatorSettings when the operator lacks a setting the endpoint needs. */
  readonly rule: RuleName | 'operatorSettings';
  readonly message: string;
}

/** PolicyCheckOptions are the operator-level facts the check needs besides the policy. */
export interface PolicyCheckOptions {
  /** proxyImage is the operator's own proxy image (--proxy-image), always allowed. */
  readonly proxyImage: string;
  /** allowDevelopmentTrust is the operator's --allow-development-trust flag, the master switch of development trust. */
  readonly allowDevelopmentTrust: boolean;
  /** privatemodeProxyImage is the operator's --privatemode-proxy-image; without it a privatemode endpoint cannot run. */
  readonly privatemodeProxyImage?: string;
}

interface Context {
  readonly endpoint: InferenceEndpoint;
  readonly rules: PolicyRules;
  readonly policy: AdminPolicy;
  readonly options: PolicyCheckOptions;
}

type Rule = (c: Context) => PolicyViolation | undefined;

function refusal(c: Context, at: { readonly field: string; readonly rule: RuleName }, value: string, why = ''): PolicyViolation {
  const { field, rule } = at;
  const namespace = c.endpoint.metadata.namespace ?? '';
  const scope = Object.hasOwn(c.policy.namespaces, namespace) ? ` for namespace ${namespace}` : '';
  return { field, rule, message: `${field} ${JSON.stringify(value)} is not allowed by policy ${c.policy.name} (${rule}${scope})${why}` };
}

function listed(entries: readonly string[]): string {
  return entries.length === 0 ? '; the policy lists none' : `; allowed: ${entries.join(', ')}`;
}

/** developmentTrustAllowed: the operator's flag and the namespace's policy both allow development trust. */
export function developmentTrustAllowed(policy: AdminPolicy, namespace: string, allowDevelopmentTrust: boolean): boolean {
  return allowDevelopmentTrust && rulesFor(policy, namespace).developmentTrust;
}

/** limitsStoreAllowed says whether `url` is a limits store the policy lets endpoints of `namespace` name. */
export function limitsStoreAllowed(policy: AdminPolicy, namespace: string, url: string): boolean {
  const wanted = normaliseStoreUrl(url);
  return rulesFor(policy, namespace).limitsStores.some((entry) => normaliseStoreUrl(entry) === wanted);
}

const proxyImage: Rule = (c) => {
  const image = c.endpoint.spec.proxy.image;
  if (image === undefined || image === c.options.proxyImage || c.rules.proxyImages.includes(image)) return undefined;
  return refusal(c, { field: 'spec.proxy.image', rule: 'proxyImages' }, image, `; allowed: the operator's proxy image${c.rules.proxyImages.length > 0 ? `, ${c.rules.proxyImages.join(', ')}` : ''}`);
};

/**
 * configRepo checks the trust root of Verified attestation. Development trust verifies against
 * spec.attestation.developmentPublicKey and an unattested provider verifies nothing (the proxy
 * never reads configRepo then), so the rule binds only a tinfoil endpoint with Verified trust.
 */
const configRepo: Rule = (c) => {
  const { spec } = c.endpoint;
  if (spec.provider !== 'tinfoil' || spec.attestation.trust !== 'Verified' || c.rules.configRepos.includes(spec.attestation.configRepo)) return undefined;
  return refusal(c, { field: 'spec.attestation.configRepo', rule: 'configRepos' }, spec.attestation.configRepo, listed(c.rules.configRepos));
};

const developmentTrust: Rule = (c) => {
  if (c.endpoint.spec.attestation.trust !== 'Development') return undefined;
  if (!c.options.allowDevelopmentTrust) return refusal(c, { field: 'spec.attestation.trust', rule: 'developmentTrust' }, 'Development', '; the operator runs without --allow-development-trust');
  return c.rules.developmentTrust ? undefined : refusal(c, { field: 'spec.attestation.trust', rule: 'developmentTrust' }, 'Development');
};

/** unattestedUpstream: an openai-compatible endpoint sends the namespace's key, unsealed, to its upstream, so only to a listed host. */
const unattestedUpstream: Rule = (c) => {
  const { spec } = c.endpoint;
  if (spec.provider !== 'openai-compatible') return undefined;
  const url = upstreamUrl(spec) ?? '';
  if (hostAllowed(url, c.rules.unattestedUpstreamHosts)) return undefined;
  const host = upstreamHost(url);
  const why = host.ok ? ` (host ${host.hostname}:${host.port})${listed(c.rules.unattestedUpstreamHosts)}` : `: it ${host.problem}`;
  return refusal(c, { field: 'spec.upstream.url', rule: 'unattestedUpstreamHosts' }, url, why);
};

const limitsStore: Rule = (c) => {
  const url = c.endpoint.spec.limitsStore?.redis.url;
  if (url === undefined || limitsStoreAllowed(c.policy, c.endpoint.metadata.namespace ?? '', url)) return undefined;
  return refusal(c, { field: 'spec.limitsStore.redis.url', rule: 'limitsStores' }, url, listed(c.rules.limitsStores));
};

/** privatemodeImage: provider privatemode runs privatemode-proxy, an image only the operator's setting names. */
const privatemodeImage: Rule = (c) => {
  if (c.endpoint.spec.provider !== 'privatemode' || c.options.privatemodeProxyImage !== undefined) return undefined;
  return {
    field: 'spec.provider',
    rule: 'operatorSettings',
    message: 'spec.provider "privatemode" needs privatemode-proxy, and the operator runs without --privatemode-proxy-image (Helm value privatemode.proxyImage, pinned by digest)',
  };
};

/** RULES are the checks in the order refusals are reported. */
const RULES: readonly Rule[] = [proxyImage, configRepo, developmentTrust, unattestedUpstream, limitsStore, privatemodeImage];

/**
 * policyViolations checks an endpoint against the admin policy of its namespace: pure, so the
 * reconciler (which renders nothing for a violating endpoint) and the sidecar webhook (which
 * injects nothing for one) decide alike. Empty means allowed.
 */
export function policyViolations(endpoint: InferenceEndpoint, policy: AdminPolicy, options: PolicyCheckOptions): PolicyViolation[] {
  const c: Context = { endpoint, policy, options, rules: rulesFor(policy, endpoint.metadata.namespace ?? '') };
  return RULES.flatMap((rule) => rule(c) ?? []);
}

/** EndpointPolicy is the admin policy with the operator-level facts the check needs, as the reconciler and the webhook hold it. */
export interface EndpointPolicy extends PolicyCheckOptions {
  readonly policy: AdminPolicy;
}

/** CLOSED_POLICY is what a caller that was given no policy checks against: the built-in default, no development trust, no proxy image but the default. */
export const CLOSED_POLICY: EndpointPolicy = { policy: builtInPolicy(false), proxyImage: '', allowDevelopmentTrust: false };
