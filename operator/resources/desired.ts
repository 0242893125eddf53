import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import type { ProxyImage } from './container.ts';
import { deploymentFor } from './deployment.ts';
import { contentHash } from './hash.ts';
import { configMapFor, serviceAccountFor, tokenReviewBindingFor } from './identity.ts';
import { networkPolicyFor, podDisruptionBudgetFor, serviceFor, serviceMonitorFor, type ServiceMonitorSettings } from './networking.ts';
import { childNames, endpointName } from './names.ts';
import { proxyConfigYaml, SIDECAR_PORTS } from './proxy-config.ts';

/** DesiredOptions are the operator-level inputs to an endpoint's children, passed in explicitly. */
export interface DesiredOptions {
  readonly image: ProxyImage;
  /** tokenReviewClusterRole is the chart's ClusterRole allowing `create tokenreviews`. */
  readonly tokenReviewClusterRole: string;
  /** apiServerPorts are the API server's ports, opened for egress when callers are checked with TokenReview. */
  readonly apiServerPorts: readonly number[];
  /** releaseDigest is the attested release to stamp on the pod template (Follow policy), when known. */
  readonly releaseDigest?: string;
  /** serviceMonitorSettings are the scrape interval and labels of endpoints' ServiceMonitors (--service-monitor-*). */
  readonly serviceMonitorSettings?: ServiceMonitorSettings;
  /** serviceMonitor: the cluster serves the ServiceMonitor CRD (Prometheus operator), so one is created. */
  readonly serviceMonitor?: boolean;
  /**
   * allowDevelopmentTrust says development trust is allowed for this endpoint (the operator's flag
   * and the admin policy, operator/policy/); without it a Development-trust endpoint cannot be
   * rendered at all (the renderers throw).
   */
  readonly allowDevelopmentTrust?: boolean;
  /** previousDeployment is the proxy Deployment as found, so its change-cause is kept while its template is (operator/resources/change-cause.ts). */
  readonly previousDeployment?: V1Deployment;
}

/** DesiredChildren is every object an endpoint should own, in apply order. */
export interface DesiredChildren {
  readonly objects: readonly KubernetesObject[];
  readonly configHash: string;
}

/**
 * desiredChildren computes an endpoint's children from its spec and the explicit options: pure,
 * so the reconciler's only I/O is reading what exists and applying what differs.
 */
export function desiredChildren(endpoint: InferenceEndpoint, options: DesiredOptions): DesiredChildren {
  const trust = options.allowDevelopmentTrust === true ? { allowDevelopmentTrust: true } : {};
  const configYaml = proxyConfigYaml(endpoint, { listenHost: '0.0.0.0', ...trust });
  const configHash = contentHash(configYaml);
  const serviceAccountAuth = endpoint.spec.callers.auth === 'serviceaccount';
  const objects: KubernetesObject[] = [
    serviceAccountFor(endpoint),
    ...(serviceAccountAuth ? [tokenReviewBindingFor(endpoint, options.tokenReviewClusterRole)] : []),
    configMapFor(endpoint, configYaml),
    // The injected sidecars' configuration (operator/webhook/): API on loopback only, ports clear of the app's.
    configMapFor(endpoint, sidecarConfigYaml(endpoint, trust), childNames(endpointName(endpoint)).sidecarConfigMap),
    deploymentFor(endpoint, { image: options.image, configHash, ...trust, ...(options.releaseDigest ? { releaseDigest: options.releaseDigest } : {}), ...(options.previousDeployment ? { previousDeployment: options.previousDeployment } : {}) }),
    serviceFor(endpoint),
    podDisruptionBudgetFor(endpoint),
    networkPolicyFor(endpoint, { apiServerPorts: serviceAccountAuth ? options.apiServerPorts : [] }),
    ...(options.serviceMonitor === true ? [serviceMonitorFor(endpoint, options.serviceMonitorSettings)] : []),
  ];
  return { objects, configHash };
}

/** sidecarConfigYaml is the configuration an injected sidecar mounts: loopback API, sidecar ports. */
export function sidecarConfigYaml(endpoint: InferenceEndpoint, trust: { readonly allowDevelopmentTrust?: boolean } = {}): string {
  return proxyConfigYaml(endpoint, { listenHost: '127.0.0.1', ports: SIDECAR_PORTS, loopbackCallers: true, ...trust });
}
