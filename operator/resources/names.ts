import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND, type InferenceEndpoint } from '../api/v1alpha1/types.ts';

/** Label and annotation names shared with the webhook, the chart, dashboards and tests (docs/architecture.md §6). */
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_ENDPOINT = 'inference.attested.dev/endpoint';
export const ANNOTATION_RELEASE_DIGEST = 'inference.attested.dev/release-digest';
export const ANNOTATION_CONFIG_HASH = 'inference.attested.dev/config-hash';
/** Sidecar injection (docs/architecture.md §6): namespace label, pod annotations and the workload restart opt-in. */
export const LABEL_INJECTION = 'inference.attested.dev/injection';
export const ANNOTATION_INJECT = 'inference.attested.dev/inject';
export const ANNOTATION_INJECTION_STATUS = 'inference.attested.dev/status';
export const ANNOTATION_DEFAULT_ENDPOINT = 'inference.attested.dev/default-endpoint';
export const ANNOTATION_RESTART_ON_ATTESTATION_CHANGE = 'inference.attested.dev/restart-on-attestation-change';
export const PROXY_APP_NAME = 'attested-inference-proxy';
export const MANAGED_BY = 'attested-inference-operator';
/** FIELD_MANAGER is the one server-side-apply field manager the operator writes with. */
export const FIELD_MANAGER = 'attested-inference-operator';

/** ChildNames are the names of the objects one endpoint owns. */
export interface ChildNames {
  /** service is the endpoint's own name, so callers use http://<endpoint>.<namespace>.svc. */
  readonly service: string;
  readonly deployment: string;
  readonly serviceAccount: string;
  readonly configMap: string;
  /** sidecarConfigMap is the configuration injected sidecars mount (API on 127.0.0.1, operator/webhook/). */
  readonly sidecarConfigMap: string;
  readonly podDisruptionBudget: string;
  readonly networkPolicy: string;
  readonly serviceMonitor: string;
  readonly roleBinding: string;
}

/** childNames derives every child's name from the endpoint's. */
export function childNames(endpointName: string): ChildNames {
  const proxy = `${endpointName}-proxy`;
  return {
    service: endpointName,
    deployment: proxy,
    serviceAccount: proxy,
    configMap: `${proxy}-config`,
    sidecarConfigMap: `${proxy}-sidecar-config`,
    podDisruptionBudget: proxy,
    networkPolicy: proxy,
    serviceMonitor: proxy,
    roleBinding: `${proxy}-tokenreview`,
  };
}

/** selectorLabels select an endpoint's proxy pods; they never change for the endpoint's lifetime. */
export function selectorLabels(endpoint: InferenceEndpoint): Record<string, string> {
  return { [LABEL_NAME]: PROXY_APP_NAME, [LABEL_INSTANCE]: endpointName(endpoint) };
}

/** commonLabels go on every child. */
export function commonLabels(endpoint: InferenceEndpoint): Record<string, string> {
  return {
    ...selectorLabels(endpoint),
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_COMPONENT]: 'proxy',
    [LABEL_ENDPOINT]: endpointName(endpoint),
  };
}

export function endpointName(endpoint: InferenceEndpoint): string {
  return endpoint.metadata.name ?? '';
}

export function endpointNamespace(endpoint: InferenceEndpoint): string {
  return endpoint.metadata.namespace ?? '';
}

/** ownerReference makes the endpoint the controller-owner of a child, so deleting it collects the child. */
export function ownerReference(endpoint: InferenceEndpoint): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: endpointName(endpoint),
    uid: endpoint.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** childMeta is the metadata every child starts from. */
export function childMeta(endpoint: InferenceEndpoint, name: string, extra: Partial<V1ObjectMeta> = {}): V1ObjectMeta {
  return {
    name,
    namespace: endpointNamespace(endpoint),
    labels: { ...commonLabels(endpoint), ...extra.labels },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
    ownerReferences: [ownerReference(endpoint)],
  };
}
