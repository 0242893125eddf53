import type { V1Container, V1EnvVar, V1Pod, V1Probe, V1Volume } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { proxyContainer, proxyVolumes, VOLUMES, type ProxyImage } from '../resources/container.ts';
import { ANNOTATION_INJECTION_STATUS, childNames, endpointName, LABEL_ENDPOINT } from '../resources/names.ts';
import { SIDECAR_PORTS } from '../resources/proxy-config.ts';
import { durationSeconds } from '../api/v1alpha1/values.ts';

/** SIDECAR_CONTAINER_NAME is the injected init container's name; its presence marks a pod as injected. */
export const SIDECAR_CONTAINER_NAME = 'attested-inference-proxy';

/**
 * SIDECAR_UID is the UID and GID the sidecar runs as: one of its own, not the image's default 65532,
 * which distroless "nonroot" app images share, so an app container that names no UID is unlikely
 * to run as the sidecar's. The webhook refuses app containers that name it (isolation.ts).
 */
export const SIDECAR_UID = 65531;

/** SIDECAR_BASE_URL is what app containers get as OPENAI_BASE_URL: plain HTTP to the sidecar on loopback. */
export const SIDECAR_BASE_URL = `http://127.0.0.1:${String(SIDECAR_PORTS.api)}/v1`;

/**
 * PLACEHOLDER_API_KEY fills OPENAI_API_KEY in app containers: OpenAI SDKs refuse to start without
 * one, while the real provider key stays in the sidecar (docs/architecture.md §5) and the sidecar's
 * loopback listener needs no caller credential.
 */
export const PLACEHOLDER_API_KEY = 'sk-placeholder-the-sidecar-holds-the-key';

/** SidecarOptions are the operator-level inputs to the sidecar, passed in explicitly. */
export interface SidecarOptions {
  readonly image: ProxyImage;
  /** allowDevelopmentTrust must be set to inject a Development-trust endpoint (the flag and the admin policy allow it there). */
  readonly allowDevelopmentTrust?: boolean;
}

/**
 * sidecarVolumes are the gateway's volumes with the sidecar ConfigMap (API on 127.0.0.1) in place of
 * the gateway's, and without the callers' keys: the sidecar's configuration authenticates no callers
 * (`loopbackCallers`, operator/resources/desired.ts sidecarConfigYaml), so it mounts no Secret it
 * does not read.
 */
export function sidecarVolumes(endpoint: InferenceEndpoint): V1Volume[] {
  const sidecarConfigMap = childNames(endpointName(endpoint)).sidecarConfigMap;
  return proxyVolumes(endpoint)
    .filter((v) => v.name !== VOLUMES.callerKeys)
    .map((v) => (v.name === VOLUMES.config ? { name: v.name, configMap: { name: sidecarConfigMap } } : v));
}

function probe(path: string, periodSeconds: number, failureThreshold: number): V1Probe {
  return { httpGet: { path, port: SIDECAR_PORTS.admin }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

/** SIDECAR_PROCESS_START_SECONDS is the time the sidecar's process may take to listen (the gateway's startup budget, 30 × 1 s). */
const SIDECAR_PROCESS_START_SECONDS = 30;
/** SIDECAR_STARTUP_MARGIN_SECONDS covers the probe's own period and timeout and a late first fetch on top of the window. */
const SIDECAR_STARTUP_MARGIN_SECONDS = 15;

/**
 * sidecarStartupProbe is on `/readyz`, the readiness condition: kubelet starts a pod's later
 * containers only once a restartable init container's startup probe succeeded (KEP-753), so the
 * app starts after the sidecar verified its upstream, or after the first-verification window
 * passed and it answers clear 503s (docs/adr/0013). It probes every second, so the app starts
 * within a second of the verification; its budget (failureThreshold × periodSeconds) covers the
 * process start, the whole window and a margin, so kubelet never restarts a sidecar that is still
 * waiting within the window. Liveness (`/healthz`) starts only after it succeeded.
 */
export function sidecarStartupProbe(endpoint: InferenceEndpoint): V1Probe {
  const windowSeconds = durationSeconds(endpoint.spec.attestation.firstVerificationWindow);
  return probe('/readyz', 1, SIDECAR_PROCESS_START_SECONDS + windowSeconds + SIDECAR_STARTUP_MARGIN_SECONDS);
}

/**
 * sidecarContainer is the gateway's proxy container made a native sidecar: an init container with
 * `restartPolicy: Always` (KEP-753, stable in Kubernetes 1.33), so kubelet starts it before the app
 * containers, waits for its startup probe (sidecarStartupProbe), and stops it after them. Only the admin port (metrics,
 * probes, all interfaces) is declared; the API port listens on 127.0.0.1.
 */
export function sidecarContainer(endpoint: InferenceEndpoint, options: SidecarOptions): V1Container {
  const container = proxyContainer(endpoint, options.image, sidecarVolumes(endpoint), { ...(options.allowDevelopmentTrust === true ? { allowDevelopmentTrust: true } : {}) });
  container.name = SIDECAR_CONTAINER_NAME;
  container.restartPolicy = 'Always';
  container.securityContext = Object.assign(container.securityContext ?? {}, { runAsUser: SIDECAR_UID, runAsGroup: SIDECAR_UID });
  container.ports = [{ name: 'aio-admin', containerPort: SIDECAR_PORTS.admin, protocol: 'TCP' }];
  container.startupProbe = sidecarStartupProbe(endpoint);
  container.readinessProbe = probe('/readyz', 5, 2);
  container.livenessProbe = probe('/healthz', 10, 3);
  return container;
}

/** setDefaultEnv gives an app container (a copy, mutated in place) the sidecar's URL and a placeholder key unless it sets them. */
function setDefaultEnv(container: V1Container): void {
  const env: V1EnvVar[] = container.env ?? [];
  const has = (name: string): boolean => env.some((e) => e.name === name);
  if (!has('OPENAI_BASE_URL')) env.push({ name: 'OPENAI_BASE_URL', value: SIDECAR_BASE_URL });
  if (!has('OPENAI_API_KEY')) env.push({ name: 'OPENAI_API_KEY', value: PLACEHOLDER_API_KEY });
  container.env = env;
}

function podAnnotations(existing: Record<string, string> | undefined): Record<string, string> {
  const annotations = { ...existing, [ANNOTATION_INJECTION_STATUS]: 'injected' };
  // Plain Prometheus scrapes by these annotations; a pod that sets any of its own keeps them all.
  if (Object.keys(existing ?? {}).some((k) => k.startsWith('prometheus.io/'))) return annotations;
  return { ...annotations, 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(SIDECAR_PORTS.admin), 'prometheus.io/path': '/metrics' };
}

/** DEFAULT_GRACE_SECONDS is Kubernetes' terminationGracePeriodSeconds when a pod sets none. */
const DEFAULT_GRACE_SECONDS = 30;

/**
 * fitPreStop shortens the sidecar's preStop sleep to fit the pod's grace period: the API server
 * refuses a sleep that is not shorter than terminationGracePeriodSeconds, and a pod that asked for
 * a short grace period wants a quick exit more than a drain delay.
 */
function fitPreStop(container: V1Container, graceSeconds: number): void {
  const seconds = container.lifecycle?.preStop?.sleep?.seconds;
  if (seconds === undefined || seconds < graceSeconds) return;
  if (graceSeconds <= 1) delete container.lifecycle;
  else container.lifecycle = { preStop: { sleep: { seconds: graceSeconds - 1 } } };
}

/**
 * injectSidecar returns a mutated copy of `pod`: the sidecar first among the init containers (so
 * app init containers can use it too), its volumes, OPENAI_BASE_URL and a placeholder
 * OPENAI_API_KEY in app containers that set neither, the status annotation, Prometheus annotations
 * and the endpoint label (a PodMonitor selects sidecars by it). The provider key volume is mounted
 * only into the sidecar. The caller diffs the copy against the original to make the JSON patch.
 */
export function injectSidecar(pod: V1Pod, endpoint: InferenceEndpoint, options: SidecarOptions): V1Pod {
  const copy = structuredClone(pod);
  copy.spec ??= { containers: [] };
  const sidecar = sidecarContainer(endpoint, options);
  fitPreStop(sidecar, copy.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS);
  copy.spec.initContainers = [sidecar, ...(copy.spec.initContainers ?? [])];
  copy.spec.volumes = [...(copy.spec.volumes ?? []), ...sidecarVolumes(endpoint)];
  copy.spec.containers.forEach(setDefaultEnv);
  copy.metadata ??= {};
  copy.metadata.annotations = podAnnotations(copy.metadata.annotations);
  copy.metadata.labels = { [LABEL_ENDPOINT]: endpointName(endpoint), ...copy.metadata.labels };
  return copy;
}

/** markSkipped returns a copy of `pod` whose status annotation says why it was not injected. */
export function markSkipped(pod: V1Pod, value: string): V1Pod {
  const copy = structuredClone(pod);
  copy.metadata ??= {};
  copy.metadata.annotations = { ...copy.metadata.annotations, [ANNOTATION_INJECTION_STATUS]: value };
  return copy;
}
