import type { KubernetesObject, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { CLOSED_POLICY, developmentTrustAllowed, type EndpointPolicy } from '../policy/admin-policy.ts';
import type { ProxyImage } from '../resources/container.ts';
import type { AdmissionRequest, AdmissionResponse } from './admission.ts';
import { decide, optIn, type Decision } from './decision.ts';
import { diff } from './json-patch.ts';
import { FAILABLE_REASONS, reasonMessage, statusAnnotationValue, type ReasonCode } from './reasons.ts';
import { injectSidecar, markSkipped } from './sidecar.ts';

/** FailureMode says what happens to a pod that asks for a sidecar it cannot have (missing or unready endpoint) or cannot have safely (isolation.ts). */
export type FailureMode = 'reject' | 'admit';
export const FAILURE_MODES: readonly FailureMode[] = ['reject', 'admit'];

/** InjectionResult is the `result` label of the injections metric. */
export type InjectionResult = 'injected' | 'skipped' | 'rejected';

/** InjectionOutcome is what the handler reports for one admission: metrics, Events and logs come from it. */
export interface InjectionOutcome {
  readonly result: InjectionResult;
  readonly reason: ReasonCode;
  readonly message: string;
  readonly namespace: string;
  /** pod names the pod as well as it is known during admission (`generateName*` before the name is assigned). */
  readonly pod: string;
  /** regarding is what an Event should be about: the pod's controller, else its namespace (the pod has no UID yet). */
  readonly regarding: KubernetesObject;
  readonly endpoint?: string;
  readonly dryRun: boolean;
}

/** AdmissionReads are what admission reads: a namespace's metadata and the endpoints in it. */
export interface AdmissionReads {
  readonly readNamespace: (name: string) => Promise<V1ObjectMeta>;
  readonly listEndpoints: (namespace: string) => Promise<readonly InferenceEndpoint[]>;
}

/**
 * InjectorDeps are the handler's reads (the webhook's caches, cache.ts), the API server to
 * confirm a refusal with, and its one report; tests pass fakes or the real API server.
 */
export interface InjectorDeps extends AdmissionReads {
  /**
   * confirm reads from the API server when the cached answer would refuse or skip the pod for want
   * of an endpoint (CONFIRMED_REASONS): the cache may not have seen an endpoint created or
   * reconciled a moment ago. A pod that gets its sidecar costs no request.
   */
  readonly confirm?: AdmissionReads;
  readonly report: (outcome: InjectionOutcome) => void;
}

/** CONFIRMED_REASONS are the decisions a cache that lags behind the API server could get wrong against the pod. */
const CONFIRMED_REASONS: readonly ReasonCode[] = ['no-default-endpoint', 'endpoint-not-found', 'endpoint-not-ready'];

/** InjectorOptions are the operator-level settings of injection. */
export interface InjectorOptions {
  readonly image: ProxyImage;
  readonly failureMode: FailureMode;
  /** policy is the admin policy an endpoint must meet to be injected (operator/policy/); absent, CLOSED_POLICY. */
  readonly policy?: EndpointPolicy;
}

function podLabel(pod: V1Pod): string {
  return pod.metadata?.name ?? `${pod.metadata?.generateName ?? ''}*`;
}

/** regardingFor picks the Event's object: the pod's controller (a ReplicaSet, Job, …) or else its namespace. */
export function regardingFor(pod: V1Pod, namespace: string): KubernetesObject {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller === true);
  if (owner) return { apiVersion: owner.apiVersion, kind: owner.kind, metadata: { name: owner.name, uid: owner.uid, namespace } };
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, namespace } };
}

function patchResponse(uid: string, before: V1Pod, after: V1Pod, warnings: readonly string[] = []): AdmissionResponse {
  const operations = diff(before, after);
  return {
    uid,
    allowed: true,
    ...(operations.length > 0 ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(operations)).toString('base64') } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

async function gather(pod: V1Pod, namespace: string, deps: AdmissionReads): Promise<{ namespace: V1ObjectMeta; endpoints: readonly InferenceEndpoint[] }> {
  const meta = await deps.readNamespace(namespace);
  // Most pods in the cluster never opted in: they cost one (cached) namespace read and no endpoint list.
  const wanted = optIn(pod.metadata, meta).kind;
  const endpoints = wanted === 'endpoint' || wanted === 'default' ? await deps.listEndpoints(namespace) : [];
  return { namespace: meta, endpoints };
}

function respond(request: AdmissionRequest, pod: V1Pod, decision: Decision, options: InjectorOptions): { response: AdmissionResponse; result: InjectionResult; message: string } {
  const message = reasonMessage(decision.reason, decision.endpointName, decision.field);
  if (decision.reason === 'injected' && decision.endpoint) {
    const p = options.policy ?? CLOSED_POLICY;
    const allowDevelopmentTrust = developmentTrustAllowed(p.policy, decision.endpoint.metadata.namespace ?? '', p.allowDevelopmentTrust);
    return { response: patchResponse(request.uid, pod, injectSidecar(pod, decision.endpoint, { image: options.image, allowDevelopmentTrust })), result: 'injected', message };
  }
  if (decision.reason === 'not-opted-in' || decision.reason === 'already-injected') return { response: { uid: request.uid, allowed: true }, result: 'skipped', message };
  const failable = FAILABLE_REASONS.includes(decision.reason);
  // A pod that already carries the sidecar cannot be admitted without it: refused in either mode.
  if (failable && (options.failureMode === 'reject' || decision.sidecarPresent === true)) {
    const text = `attested-inference sidecar injection refused the pod (${decision.reason}): ${message}`;
    return { response: { uid: request.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: text } }, result: 'rejected', message };
  }
  const warnings = failable ? [`attested-inference sidecar not injected (${decision.reason}): ${message}`] : [];
  return { response: patchResponse(request.uid, pod, markSkipped(pod, statusAnnotationValue(decision.reason)), warnings), result: 'skipped', message };
}

/**
 * admitPod is the webhook's logic as a plain function from an AdmissionRequest to its response:
 * gather the namespace and its endpoints (the only I/O; from the caches, confirmed with the API
 * server before a refusal for want of an endpoint), decide with the chain of named checks,
 * build the mutated copy and diff it into a JSON Patch, report the outcome.
 */
export async function admitPod(request: AdmissionRequest, deps: InjectorDeps, options: InjectorOptions): Promise<AdmissionResponse> {
  const pod = (request.object ?? {}) as V1Pod;
  const namespace = request.namespace ?? pod.metadata?.namespace ?? '';
  const policy = options.policy ? { policy: options.policy } : {};
  let decision = decide({ pod, ...(await gather(pod, namespace, deps)), ...policy });
  if (deps.confirm && CONFIRMED_REASONS.includes(decision.reason)) decision = decide({ pod, ...(await gather(pod, namespace, deps.confirm)), ...policy });
  const { response, result, message } = respond(request, pod, decision, options);
  deps.report({
    result,
    reason: decision.reason,
    message,
    namespace,
    pod: podLabel(pod),
    regarding: regardingFor(pod, namespace),
    dryRun: request.dryRun === true,
    ...(decision.endpointName !== undefined ? { endpoint: decision.endpointName } : {}),
  });
  return response;
}
