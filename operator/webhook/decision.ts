import type { V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { CLOSED_POLICY, policyViolations, type EndpointPolicy } from '../policy/admin-policy.ts';
import { ANNOTATION_DEFAULT_ENDPOINT, ANNOTATION_INJECT, ANNOTATION_INJECTION_STATUS, LABEL_INJECTION, LABEL_NAME, PROXY_APP_NAME } from '../resources/names.ts';
import { hasSidecar, isolationProblem } from './isolation.ts';
import type { ReasonCode } from './reasons.ts';
import { SIDECAR_CONTAINER_NAME } from './sidecar.ts';

/** DecisionInput is everything the decision needs, gathered before it runs (the only I/O). */
export interface DecisionInput {
  readonly pod: V1Pod;
  /** namespace is the pod's Namespace's metadata (labels and annotations). */
  readonly namespace: V1ObjectMeta;
  /** endpoints are the InferenceEndpoints in the pod's namespace (an endpoint serves only its own, docs/architecture.md §4). */
  readonly endpoints: readonly InferenceEndpoint[];
  /** policy is the admin policy endpoints must meet to be injected (operator/policy/); absent, CLOSED_POLICY. */
  readonly policy?: EndpointPolicy;
}

/** Decision is the outcome: a reason code and, when one was resolved, the endpoint's name and object. */
export interface Decision {
  readonly reason: ReasonCode;
  readonly endpointName?: string;
  readonly endpoint?: InferenceEndpoint;
  /** field names the pod's field that decided it (e.g. `spec.shareProcessNamespace`), for the message. */
  readonly field?: string;
  /**
   * sidecarPresent: the pod already carries the sidecar and its key volume, so it cannot be admitted
   * without them; a failable outcome refuses it whatever the failure mode.
   */
  readonly sidecarPresent?: true;
}

/** OptIn is what the pod and namespace ask for: a named endpoint, the namespace default, nothing, or an explicit no. */
export type OptIn = { readonly kind: 'endpoint'; readonly name: string } | { readonly kind: 'default' } | { readonly kind: 'none' } | { readonly kind: 'out' };

/**
 * optIn reads the opt-in: an explicit pod annotation wins over the namespace label, as with
 * Istio's `sidecar.istio.io/inject` and Linkerd's `linkerd.io/inject`. `"false"` opts out;
 * `"true"` or `"enabled"` asks for the namespace's default endpoint; any other value names one.
 */
export function optIn(pod: V1ObjectMeta | undefined, namespace: V1ObjectMeta): OptIn {
  const value = pod?.annotations?.[ANNOTATION_INJECT]?.trim();
  if (value === 'false' || value === 'disabled') return { kind: 'out' };
  if (value === 'true' || value === 'enabled') return { kind: 'default' };
  if (value !== undefined && value !== '') return { kind: 'endpoint', name: value };
  return namespace.labels?.[LABEL_INJECTION] === 'enabled' ? { kind: 'default' } : { kind: 'none' };
}

/**
 * defaultEndpointName is the namespace's default endpoint: the one its annotation
 * `inference.attested.dev/default-endpoint` names, else the only endpoint in the namespace.
 */
export function defaultEndpointName(namespace: V1ObjectMeta, endpoints: readonly InferenceEndpoint[]): string | undefined {
  const named = namespace.annotations?.[ANNOTATION_DEFAULT_ENDPOINT]?.trim();
  if (named !== undefined && named !== '') return named;
  return endpoints.length === 1 ? endpoints[0]?.metadata.name : undefined;
}

/** endpointNameFor resolves which endpoint a pod (or a workload's pod template) would get, if any. */
export function endpointNameFor(pod: V1ObjectMeta | undefined, namespace: V1ObjectMeta, endpoints: readonly InferenceEndpoint[]): string | undefined {
  const wanted = optIn(pod, namespace);
  if (wanted.kind === 'endpoint') return wanted.name;
  return wanted.kind === 'default' ? defaultEndpointName(namespace, endpoints) : undefined;
}

/** isInjected says whether the pod already carries the sidecar (re-invocation, or a pod created from an injected copy). */
export function isInjected(pod: V1Pod): boolean {
  const named = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some((c) => c.name === SIDECAR_CONTAINER_NAME);
  return named || pod.metadata?.annotations?.[ANNOTATION_INJECTION_STATUS] === 'injected';
}

/** endpointReady: the operator has reconciled the endpoint's current generation, so its sidecar ConfigMap exists and is current. */
export function endpointReady(endpoint: InferenceEndpoint): boolean {
  const observed = endpoint.status?.observedGeneration;
  return observed !== undefined && observed === endpoint.metadata.generation;
}

type Check = (input: DecisionInput) => Decision | undefined;

/**
 * injectedPodDecision re-checks a pod that already carries the sidecar: a later mutating webhook
 * (re-invocation, reinvocationPolicy: IfNeeded) or the pod's author may have added what hands the
 * app the key, such as `shareProcessNamespace`.
 */
function injectedPodDecision(pod: V1Pod): Decision {
  const problem = hasSidecar(pod) ? isolationProblem(pod, true) : undefined;
  return problem === undefined ? { reason: 'already-injected' } : { ...problem, sidecarPresent: true };
}

/**
 * CHECKS is the decision as a chain of named checks, in order; the first that answers decides.
 * Idempotence comes first so a re-invoked webhook (reinvocationPolicy: IfNeeded) never injects twice.
 */
const CHECKS: readonly Check[] = [
  ({ pod }) => (isInjected(pod) ? injectedPodDecision(pod) : undefined),
  // An endpoint's proxy pods live in the namespaces that opt in; the webhooks' objectSelector keeps
  // the API server from even asking, and this keeps the answer right if it does.
  ({ pod }) => (pod.metadata?.labels?.[LABEL_NAME] === PROXY_APP_NAME ? { reason: 'proxy-pod' } : undefined),
  ({ pod, namespace }) => (optIn(pod.metadata, namespace).kind === 'out' ? { reason: 'opted-out' } : undefined),
  ({ pod, namespace }) => (optIn(pod.metadata, namespace).kind === 'none' ? { reason: 'not-opted-in' } : undefined),
  ({ pod }) => (pod.spec?.hostNetwork === true ? { reason: 'host-network' } : undefined),
  // Before anything is resolved or injected: a pod that would hand its app the key never gets the sidecar.
  ({ pod }) => isolationProblem(pod, false),
  ({ pod, namespace, endpoints }) => (endpointNameFor(pod.metadata, namespace, endpoints) === undefined ? { reason: 'no-default-endpoint' } : undefined),
  (input) => {
    const { pod, namespace, endpoints } = input;
    const name = endpointNameFor(pod.metadata, namespace, endpoints) ?? '';
    const endpoint = endpoints.find((e) => e.metadata.name === name);
    if (endpoint === undefined) return { reason: 'endpoint-not-found', endpointName: name };
    // privatemode-proxy would have to run in the app's pod, holding the key beside the app: never.
    if (endpoint.spec.provider === 'privatemode') return { reason: 'endpoint-not-injectable', endpointName: name, endpoint };
    // The operator renders nothing for a refused endpoint; its sidecar must not run it either.
    const p = input.policy ?? CLOSED_POLICY;
    const violations = policyViolations(endpoint, p.policy, p);
    if (violations.length > 0) return { reason: 'endpoint-refused-by-policy', endpointName: name, endpoint, field: violations.map((v) => v.field).join(', ') };
    return endpointReady(endpoint) ? { reason: 'injected', endpointName: name, endpoint } : { reason: 'endpoint-not-ready', endpointName: name, endpoint };
  },
];

/** decide runs the checks; it is pure, so every reason code is unit-tested without a cluster. */
export function decide(input: DecisionInput): Decision {
  for (const check of CHECKS) {
    const decision = check(input);
    if (decision !== undefined) return decision;
  }
  throw new Error('the injection checks reached no decision');
}
