/**
 * PolicyRules are what only the cluster admin decides about an InferenceEndpoint (docs/adr and the
 * chart's `policy:` values): which images may run as the proxy, which repositories are trusted
 * roots of Verified attestation, whether development trust is allowed, where an unattested
 * provider may send the namespace's key, and which limits stores endpoints may name.
 */
export interface PolicyRules {
  /** proxyImages spec.proxy.image may name, besides the operator's own proxy image (exact strings). */
  readonly proxyImages: readonly string[];
  /** configRepos spec.attestation.configRepo may name (the trust root of Verified attestation). */
  readonly configRepos: readonly string[];
  /** developmentTrust allows spec.attestation.trust Development; only ever with the operator's --allow-development-trust too. */
  readonly developmentTrust: boolean;
  /** unattestedUpstreamHosts are `host` or `host:port` an openai-compatible endpoint may send to; empty refuses every one. */
  readonly unattestedUpstreamHosts: readonly string[];
  /** limitsStores are the Redis URLs spec.limitsStore.redis.url may name (normalised, see normaliseStoreUrl). */
  readonly limitsStores: readonly string[];
}

/** RULE_NAMES are the rules' names, as the policy file, the chart values and every refusal spell them. */
export const RULE_NAMES = ['proxyImages', 'configRepos', 'developmentTrust', 'unattestedUpstreamHosts', 'limitsStores'] as const satisfies readonly (keyof PolicyRules)[];

/** RuleName is one rule of the policy. */
export type RuleName = (typeof RULE_NAMES)[number];

/** AdminPolicy is the default rules and per-namespace exceptions, each replacing the keys it sets for that namespace only. */
export interface AdminPolicy {
  /** name is how refusals name the policy (the chart's ConfigMap, attested-inference-policy). */
  readonly name: string;
  readonly default: PolicyRules;
  readonly namespaces: Readonly<Record<string, Partial<PolicyRules>>>;
}

/** DEFAULT_POLICY_NAME is the name of the built-in policy and of the chart's policy ConfigMap. */
export const DEFAULT_POLICY_NAME = 'attested-inference-policy';

/** DEFAULT_CONFIG_REPO is the CRD's default spec.attestation.configRepo, the one trust root allowed by default. */
export const DEFAULT_CONFIG_REPO = 'tinfoilsh/confidential-model-router';

/**
 * builtInPolicy is the policy without --policy-file, closed wherever it can be: the operator's own
 * proxy image only, the default configuration repository only, development trust as the operator's
 * flag says, no unattested upstream and no limits store.
 */
export function builtInPolicy(allowDevelopmentTrust: boolean): AdminPolicy {
  return deepFreeze({
    name: DEFAULT_POLICY_NAME,
    default: { proxyImages: [], configRepos: [DEFAULT_CONFIG_REPO], developmentTrust: allowDevelopmentTrust, unattestedUpstreamHosts: [], limitsStores: [] },
    namespaces: {},
  });
}

/** rulesFor is the rules that apply in `namespace`: its exception's keys over the default's. */
export function rulesFor(policy: AdminPolicy, namespace: string): PolicyRules {
  const exception = Object.hasOwn(policy.namespaces, namespace) ? policy.namespaces[namespace] : undefined;
  return exception === undefined ? policy.default : { ...policy.default, ...exception };
}

/** deepFreeze freezes a value and everything in it, so a loaded policy cannot change while the operator runs. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
