import type { KubernetesObject, V1NetworkPolicy, V1NetworkPolicyPeer, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import { upstreamUrl } from '../api/v1alpha1/values.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { limitsStorePort } from './limits-config.ts';
import { childMeta, childNames, endpointName, endpointNamespace, selectorLabels } from './names.ts';
import { PRIVATEMODE, PROXY_PORTS } from './proxy-config.ts';

/** SERVICE_PORT is where callers reach the endpoint: http://<endpoint>.<namespace>.svc. */
export const SERVICE_PORT = 80;

/** serviceFor exposes the proxy inside the cluster; the metrics port is named for ServiceMonitors. */
export function serviceFor(endpoint: InferenceEndpoint): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(endpoint, childNames(endpointName(endpoint)).service),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(endpoint),
      ports: [
        { name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: PROXY_PORTS.admin, targetPort: 'admin', protocol: 'TCP' },
      ],
    },
  };
}

/**
 * endpointUrl is the in-cluster OpenAI base URL of an endpoint, as status.url reports it: what
 * clients set as `OPENAI_BASE_URL` (the SDKs append `/chat/completions` and the other paths to it).
 */
export function endpointUrl(endpoint: InferenceEndpoint): string {
  return `http://${endpointName(endpoint)}.${endpointNamespace(endpoint)}.svc/v1`;
}

/**
 * podDisruptionBudgetFor keeps at least one proxy pod through voluntary evictions when there are
 * several; with one replica it allows the eviction (a budget of one would block node drains).
 * `unhealthyPodEvictionPolicy: AlwaysAllow` lets a drain evict pods that are not ready (crash
 * looping, stuck pending verification): they serve nothing, so keeping them protects nothing and
 * would block the drain (kubernetes.io/docs/tasks/run-application/configure-pdb/#unhealthy-pod-eviction-policy).
 */
export function podDisruptionBudgetFor(endpoint: InferenceEndpoint): V1PodDisruptionBudget {
  const budget = endpoint.spec.replicas >= 2 ? { minAvailable: 1 } : { maxUnavailable: 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(endpoint, childNames(endpointName(endpoint)).podDisruptionBudget),
    spec: { selector: { matchLabels: selectorLabels(endpoint) }, unhealthyPodEvictionPolicy: 'AlwaysAllow', ...budget },
  };
}

function portOf(url: string | undefined): number | undefined {
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  return parsed.port !== '' ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
}

/**
 * callerNamespaces admits the pods of spec.callers.fromNamespaces, by the name label the API server
 * sets on every namespace (no one can give it to another namespace). The CRD allows the field only
 * with caller authentication; rendering checks that again, so the network is never the only check.
 */
function callerNamespaces(spec: InferenceEndpoint['spec']): V1NetworkPolicyPeer[] {
  const names = spec.callers.fromNamespaces ?? [];
  if (names.length === 0 || spec.callers.auth === 'none') return [];
  return [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...names].sort() }] } }];
}

/**
 * networkPolicyFor lets only pods of the endpoint's own namespace call the proxy (an endpoint is
 * used from its namespace, docs/architecture.md §4), and of the namespaces spec.callers.fromNamespaces
 * names; the metrics port is open to scrapers anywhere.
 * (`_from` is client-node's name for the JSON field `from`; its serializer maps it.)
 * Egress is limited to DNS, the upstream's, the attestation service's and the limits store's ports,
 * the API server (TokenReview) and, for JWT callers, the issuer's key set; destinations outside the
 * cluster cannot be named by address.
 */
export function networkPolicyFor(endpoint: InferenceEndpoint, options: { apiServerPorts: readonly number[] }): V1NetworkPolicy {
  const { spec } = endpoint;
  const jwks = spec.callers.auth === 'jwt' ? spec.callers.jwt?.jwksUrl : undefined;
  // privatemode-proxy reaches Privatemode's API and its attestation CDN over https.
  const privatemode = spec.provider === 'privatemode' ? PRIVATEMODE.egressPort : undefined;
  const tcp = [portOf(upstreamUrl(spec)), privatemode, portOf(spec.attestation.bundleUrl), portOf(jwks), limitsStorePort(spec), ...options.apiServerPorts]
    .filter((p): p is number => p !== undefined)
    .filter((p, i, all) => all.indexOf(p) === i)
    .sort((a, b) => a - b);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(endpoint, childNames(endpointName(endpoint)).networkPolicy),
    spec: {
      podSelector: { matchLabels: selectorLabels(endpoint) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          _from: [{ podSelector: {} }, ...callerNamespaces(spec)],
          ports: [{ protocol: 'TCP', port: PROXY_PORTS.api }],
        },
        { _from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: PROXY_PORTS.admin }] },
      ],
      egress: [
        { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
        { ports: tcp.map((port) => ({ protocol: 'TCP', port })) },
      ],
    },
  };
}

/** ServiceMonitorSettings are the operator-wide scrape settings of endpoints' ServiceMonitors (the chart's monitoring.serviceMonitor). */
export interface ServiceMonitorSettings {
  /** interval is Prometheus's scrape interval, e.g. `30s`. */
  readonly interval: string;
  /** labels are added to each ServiceMonitor, so a Prometheus selecting by label (kube-prometheus-stack: `release`) picks it up. */
  readonly labels: Readonly<Record<string, string>>;
}

/** DEFAULT_SERVICE_MONITOR is what endpoints' ServiceMonitors get without operator settings. */
export const DEFAULT_SERVICE_MONITOR: ServiceMonitorSettings = { interval: '30s', labels: {} };

/** serviceMonitorFor asks a Prometheus operator to scrape the proxy pods through the Service's metrics port. */
export function serviceMonitorFor(endpoint: InferenceEndpoint, settings: ServiceMonitorSettings = DEFAULT_SERVICE_MONITOR): KubernetesObject {
  const metadata = childMeta(endpoint, childNames(endpointName(endpoint)).serviceMonitor);
  // The operator's own labels win: they name the endpoint's children.
  metadata.labels = { ...settings.labels, ...metadata.labels };
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata,
    spec: {
      selector: { matchLabels: selectorLabels(endpoint) },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: settings.interval }],
    },
  } as KubernetesObject;
}
