import type { V1ConfigMap, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { childMeta, childNames, endpointName, endpointNamespace } from './names.ts';
import { CONFIG_FILE_KEY } from './proxy-config.ts';

/** serviceAccountFor is the proxy pods' identity; its token is mounted only for ServiceAccount caller auth. */
export function serviceAccountFor(endpoint: InferenceEndpoint): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: childMeta(endpoint, childNames(endpointName(endpoint)).serviceAccount),
    automountServiceAccountToken: false,
  };
}

/** configMapFor carries the rendered proxy configuration; `name` defaults to the gateway's ConfigMap. */
export function configMapFor(endpoint: InferenceEndpoint, configYaml: string, name = childNames(endpointName(endpoint)).configMap): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(endpoint, name),
    data: { [CONFIG_FILE_KEY]: configYaml },
  };
}

/**
 * tokenReviewBindingFor binds the proxy's ServiceAccount to the chart's ClusterRole that allows
 * `create tokenreviews` (docs/architecture.md §5), for ServiceAccount caller auth only.
 */
export function tokenReviewBindingFor(endpoint: InferenceEndpoint, clusterRole: string): V1RoleBinding {
  const names = childNames(endpointName(endpoint));
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: childMeta(endpoint, names.roleBinding),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount, namespace: endpointNamespace(endpoint) }],
  };
}
