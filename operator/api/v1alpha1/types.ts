import type { V1Affinity, V1ObjectMeta, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import type { JwtAlgorithm } from '../../../proxy/config/auth-jwt.ts';

/** GROUP is the API group of the attested inference resources. */
export const GROUP = 'inference.attested.dev';
/** VERSION is the version these types describe. */
export const VERSION = 'v1alpha1';
/** API_VERSION is the `apiVersion` of an InferenceEndpoint. */
export const API_VERSION = `${GROUP}/${VERSION}` as const;
/** KIND is the resource's kind. */
export const KIND = 'InferenceEndpoint';
/** PLURAL is the resource's plural name, as in its REST paths. */
export const PLURAL = 'inferenceendpoints';
/** SINGULAR is the resource's singular name, as `kubectl explain` takes it. */
export const SINGULAR = 'inferenceendpoint';
/** SHORT_NAMES are kubectl's abbreviations (`kubectl get ie`). */
export const SHORT_NAMES: readonly string[] = ['ie', 'iep'];
/** CATEGORIES group the resource for `kubectl get attested`. */
export const CATEGORIES: readonly string[] = ['attested'];
/** CRD_NAME is the CustomResourceDefinition's own name. */
export const CRD_NAME = `${PLURAL}.${GROUP}` as const;
/** TINFOIL_UPSTREAM_URL is the upstream of a `tinfoil` endpoint that names none (the proxy owns it). */
export { TINFOIL_UPSTREAM_URL } from '../../../proxy/config/schema.ts';

/** Provider is the kind of upstream an endpoint forwards to. */
export type Provider = 'tinfoil' | 'openai-compatible' | 'privatemode';
/** TrustMode says what an attestation must be rooted in (docs/architecture.md §3). */
export type TrustMode = 'Verified' | 'Development';
/** AttestationPolicy says which verified releases the proxies accept (docs/architecture.md §1). */
export type AttestationPolicy = 'Follow' | 'Pin';
/** CallerAuth is how the proxy authenticates the clients that call it. */
export type CallerAuth = 'none' | 'serviceaccount' | 'static-keys' | 'jwt';
/** LogLevel is the proxy's pino log level. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** Quantity is a Kubernetes resource quantity, as a string (`128Mi`) or a number. */
export type Quantity = string | number;

/** SecretKeyRef names one key of a Secret in the endpoint's namespace. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

/** SecretRef names a whole Secret in the endpoint's namespace. */
export interface SecretRef {
  readonly name: string;
}

/** UpstreamSpec is where the proxy sends requests. */
export interface UpstreamSpec {
  /** url is absent for `tinfoil`, which then uses TINFOIL_UPSTREAM_URL (see upstreamUrl in values.ts). */
  readonly url?: string;
}

/** AttestationSpec says how the upstream is verified. */
export interface AttestationSpec {
  readonly trust: TrustMode;
  readonly configRepo: string;
  readonly bundleUrl: string;
  readonly developmentPublicKey?: string;
  readonly policy: AttestationPolicy;
  readonly pinnedDigests?: readonly string[];
  /** recheckInterval is a Go duration; durationSeconds in values.ts converts it. */
  readonly recheckInterval: string;
  /** firstVerificationWindow is a Go duration: how long a new proxy stays unready before it verified (docs/adr/0013). */
  readonly firstVerificationWindow: string;
}

/** ModelsSpec restricts the models callers may ask for. */
export interface ModelsSpec {
  readonly allowed?: readonly string[];
  readonly aliases?: Readonly<Record<string, { readonly model: string }>>;
}

/** ModelPrice is what a million tokens cost, as decimal strings of the price table's currency. */
export interface ModelPrice {
  readonly input: string;
  readonly cachedInput?: string;
  readonly output: string;
}

/** PricesSpec is the price table used to meter cost. */
export interface PricesSpec {
  readonly currency: string;
  readonly models?: Readonly<Record<string, ModelPrice>>;
  readonly default?: ModelPrice;
}

/** JwtCallersSpec is how JWT callers are verified and labelled (`spec.callers.jwt`). */
export interface JwtCallersSpec {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly JwtAlgorithm[];
  readonly clockSkewSeconds: number;
  readonly maxTokenAgeSeconds?: number;
  readonly maxTokenBytes: number;
  readonly callerClaim: string;
  readonly callerLabel: 'hash' | 'allow-list';
  readonly allowedCallers?: readonly string[];
}

/** CallersSpec says who may call the proxy. */
export interface CallersSpec {
  readonly auth: CallerAuth;
  readonly audiences?: readonly string[];
  /** allowedServiceAccounts restricts serviceaccount callers to these (`<namespace>/<name>` or `<namespace>/*`). */
  readonly allowedServiceAccounts?: readonly string[];
  readonly staticKeysSecretRef?: SecretRef;
  readonly jwt?: JwtCallersSpec;
  /** fromNamespaces are other namespaces the NetworkPolicy admits to the API port (never with auth none). */
  readonly fromNamespaces?: readonly string[];
}

/** RateSpec is token-bucket limits: requests and tokens per minute, with bursts. */
export interface RateSpec {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly burstRequests?: number;
  readonly burstTokens?: number;
}

/** RateLimitsSpec is the token-bucket limit applied to each caller, and to the namespace's callers together. */
export interface RateLimitsSpec extends RateSpec {
  readonly namespace?: RateSpec;
}

/** BudgetWindowsSpec is spend per UTC day and month, as decimal strings in the price table's currency. */
export interface BudgetWindowsSpec {
  readonly daily?: string;
  readonly monthly?: string;
}

/** BudgetsSpec is `spec.budgets`. */
export interface BudgetsSpec {
  readonly perCaller?: BudgetWindowsSpec;
  readonly namespace?: BudgetWindowsSpec;
}

/** RedisStoreSpec is `spec.limitsStore.redis`, defaults applied. */
export interface RedisStoreSpec {
  readonly url: string;
  readonly username?: string;
  readonly passwordSecretRef?: SecretKeyRef;
  readonly caSecretRef?: SecretKeyRef;
  readonly serverName?: string;
  readonly failurePolicy: 'FailOpen' | 'FailClosed';
  readonly timeoutMilliseconds: number;
}

/** LimitsStoreSpec is `spec.limitsStore`. */
export interface LimitsStoreSpec {
  readonly redis: RedisStoreSpec;
}

/** PromptCacheSpec names the secret that separates callers' prompt caches. */
export interface PromptCacheSpec {
  readonly secretRef?: SecretKeyRef;
}

/** PassthroughSpec says whether already-encrypted (EHBP) request bodies may pass through. */
export interface PassthroughSpec {
  readonly enabled: boolean;
}

/** ResourceRequirements is the proxy container's requests and limits. */
export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, Quantity>>;
  readonly limits?: Readonly<Record<string, Quantity>>;
}

/** Toleration is core/v1 Toleration, as JSON. */
export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
  readonly tolerationSeconds?: number;
}

/** PodTemplateOverrides are merged into the proxy Deployment's pod template. */
export interface PodTemplateOverrides {
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Toleration[];
  readonly affinity?: V1Affinity;
  readonly priorityClassName?: string;
  readonly topologySpreadConstraints?: readonly V1TopologySpreadConstraint[];
}

/** ProxySpec tunes the proxy pods. */
export interface ProxySpec {
  readonly image?: string;
  readonly logLevel: LogLevel;
  readonly resources?: ResourceRequirements;
  readonly podTemplate?: PodTemplateOverrides;
}

/** ReservationSpec is how a request's use is estimated while it runs (defaults applied by the API server). */
export interface ReservationSpec {
  readonly defaultOutputTokens: number;
  readonly inputBytesPerToken: number;
}

/** InferenceEndpointSpec is the desired state, as read back from the API server (defaults applied). */
export interface InferenceEndpointSpec {
  readonly provider: Provider;
  readonly upstream?: UpstreamSpec;
  readonly acknowledgeUnattested: boolean;
  /** apiKeySecretRef or apiKeySecretRefs (exactly one, by the CRD's rule): read them through providerKeyRefs. */
  readonly apiKeySecretRef?: SecretKeyRef;
  readonly apiKeySecretRefs?: readonly SecretKeyRef[];
  readonly attestation: AttestationSpec;
  readonly replicas: number;
  readonly models?: ModelsSpec;
  readonly prices: PricesSpec;
  readonly callers: CallersSpec;
  readonly rateLimits?: RateLimitsSpec;
  readonly reservation?: ReservationSpec;
  readonly budgets?: BudgetsSpec;
  readonly limitsStore?: LimitsStoreSpec;
  readonly promptCache?: PromptCacheSpec;
  readonly passthrough: PassthroughSpec;
  readonly proxy: ProxySpec;
}

/** ConditionStatus is metav1.ConditionStatus. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Condition is metav1.Condition as JSON (times are RFC 3339 strings). */
export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

/** RolloutRecord is the last time the operator rolled the proxy pods because the release changed. */
export interface RolloutRecord {
  readonly at: string;
  readonly reason: string;
  readonly fromDigest?: string;
  readonly toDigest?: string;
}

/** ObservedTrust is what the operator last established about the upstream. */
export type ObservedTrust = TrustMode | 'Unattested' | 'Delegated';

/** AttestationStatus is the operator's record of the upstream's attested release. */
export interface AttestationStatus {
  readonly trust?: ObservedTrust;
  readonly releaseDigest?: string;
  readonly measurementFingerprint?: string;
  readonly verifiedAt?: string;
  readonly lastRollout?: RolloutRecord;
}

/** InferenceEndpointStatus is the observed state, written by the operator only. */
export interface InferenceEndpointStatus {
  readonly observedGeneration?: number;
  readonly conditions?: readonly Condition[];
  readonly readyReplicas?: number;
  /** replicas is how many proxy pods the Deployment has (the scale subresource's statusReplicasPath). */
  readonly replicas?: number;
  /** selector selects the proxy pods, as a label selector string (the scale subresource's labelSelectorPath, read by HPAs). */
  readonly selector?: string;
  readonly url?: string;
  readonly budgets?: readonly BudgetWindowStatus[];
  readonly attestation?: AttestationStatus;
}

/** BudgetWindowStatus is one namespace budget window as last read: amounts with six decimals. */
export interface BudgetWindowStatus {
  readonly window: 'day' | 'month';
  readonly budget: string;
  readonly spent: string;
  readonly percentUsed?: number;
  readonly resetsAt: string;
}

/** InferenceEndpoint runs an attesting proxy in front of one upstream, for its own namespace. */
export interface InferenceEndpoint {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: V1ObjectMeta;
  readonly spec: InferenceEndpointSpec;
  readonly status?: InferenceEndpointStatus;
}

/** providerKeyRefs lists an endpoint's provider keys: the one key, or the pool, in order. */
export function providerKeyRefs(spec: Pick<InferenceEndpointSpec, 'apiKeySecretRef' | 'apiKeySecretRefs'>): readonly SecretKeyRef[] {
  return spec.apiKeySecretRefs ?? (spec.apiKeySecretRef ? [spec.apiKeySecretRef] : []);
}
