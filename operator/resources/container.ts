import type { V1Container, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { providerKeyRefs, type InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { LIMITS_STORE_PATHS, limitsStoreVolume } from './limits-config.ts';
import { childNames, endpointName } from './names.ts';
import { developmentTrustEnv, PRIVATEMODE, providerKeyPaths, PROXY_PATHS, PROXY_PORTS } from './proxy-config.ts';

/** ProxyImage is the image the proxy runs from and how kubelet gets it. */
export interface ProxyImage {
  readonly image: string;
  readonly pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * pullSecrets name Secrets in the endpoint's namespace that the proxy pods pull with (a private
   * registry). An injected sidecar is pulled with its pod's own imagePullSecrets instead.
   */
  readonly pullSecrets?: readonly string[];
  /** privatemodeProxyImage is privatemode-proxy's image (pinned by digest), run beside the proxy for provider privatemode. */
  readonly privatemodeProxyImage?: string;
}

/**
 * DEFAULT_RESOURCES are the proxy's requests and limits unless spec.proxy.resources sets them,
 * from the benchmark (docs/sizing.md): about 140 MiB resident idle and 345 MiB with 100 concurrent
 * streams, so the request covers an idle proxy with room and the limit a loaded one by about half
 * again (a limit below the working set is an OOM kill under load, not a slowdown).
 */
export const DEFAULT_RESOURCES = { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '512Mi' } };

/** VOLUME names of the proxy's mounts (also used by the webhook, which must not clash with app volumes). */
export const VOLUMES = {
  config: 'attested-inference-config',
  providerKey: 'attested-inference-provider-key',
  callerKeys: 'attested-inference-caller-keys',
  promptCache: 'attested-inference-prompt-cache',
  limitsStore: 'attested-inference-limits-store',
  privatemodeWorkspace: 'attested-inference-privatemode-workspace',
} as const;

/**
 * providerKeyVolume mounts the provider keys: the one key as a Secret volume, a pool as a projected
 * volume of one Secret item per key (several keys of one Secret, or of several).
 */
function providerKeyVolume(endpoint: InferenceEndpoint): V1Volume {
  const refs = providerKeyRefs(endpoint.spec);
  const paths = providerKeyPaths(endpoint.spec);
  const [only] = refs;
  if (endpoint.spec.apiKeySecretRefs === undefined && only !== undefined) {
    return { name: VOLUMES.providerKey, secret: { secretName: only.name, items: [{ key: only.key, path: 'api-key' }] } };
  }
  return { name: VOLUMES.providerKey, projected: { sources: refs.map((ref, i) => ({ secret: { name: ref.name, items: [{ key: ref.key, path: paths[i] ?? '' }] } })) } };
}

/**
 * proxyVolumes are the volumes the proxy needs: its ConfigMap and, mounted only into the proxy
 * container, the provider key Secret (docs/architecture.md §5), plus the callers' keys and the
 * prompt-cache secret and the limits store's password and CA when the spec uses them.
 */
export function proxyVolumes(endpoint: InferenceEndpoint): V1Volume[] {
  const { spec } = endpoint;
  const names = childNames(endpointName(endpoint));
  const volumes: V1Volume[] = [
    { name: VOLUMES.config, configMap: { name: names.configMap } },
    // For privatemode the key is privatemode-proxy's alone (privatemodeContainer), not the proxy's.
    ...(spec.provider === 'privatemode' ? [] : [providerKeyVolume(endpoint)]),
  ];
  if (spec.callers.auth === 'static-keys' && spec.callers.staticKeysSecretRef) {
    volumes.push({ name: VOLUMES.callerKeys, secret: { secretName: spec.callers.staticKeysSecretRef.name } });
  }
  const cache = spec.promptCache?.secretRef;
  if (cache) volumes.push({ name: VOLUMES.promptCache, secret: { secretName: cache.name, items: [{ key: cache.key, path: 'secret' }] } });
  const limitsStore = limitsStoreVolume(spec, VOLUMES.limitsStore);
  if (limitsStore) volumes.push(limitsStore);
  return volumes;
}

function proxyMounts(volumes: readonly V1Volume[]): V1VolumeMount[] {
  const at: Record<string, string> = {
    [VOLUMES.config]: PROXY_PATHS.configDir,
    [VOLUMES.providerKey]: PROXY_PATHS.providerKeyDir,
    [VOLUMES.callerKeys]: PROXY_PATHS.callerKeysDir,
    [VOLUMES.promptCache]: PROXY_PATHS.promptCacheDir,
    [VOLUMES.limitsStore]: LIMITS_STORE_PATHS.dir,
  };
  return volumes.map((v) => ({ name: v.name, mountPath: at[v.name] ?? `/mnt/${v.name}`, readOnly: true }));
}

/**
 * hardened is the container security context of the proxy and of privatemode-proxy: non-root,
 * read-only, no capabilities. A fresh object each time: the webhook edits the sidecar's in place.
 */
function hardened(): NonNullable<V1Container['securityContext']> {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * proxyContainer is the proxy container of a gateway pod or a sidecar: non-root, read-only root
 * filesystem, no capabilities; probes on the admin port. preStop sleeps a few seconds so Service
 * endpoints drop the pod before it stops accepting (the proxy then drains in-flight streams).
 */
export function proxyContainer(endpoint: InferenceEndpoint, image: ProxyImage, volumes: readonly V1Volume[], trust: { readonly allowDevelopmentTrust?: boolean } = {}): V1Container {
  const env = developmentTrustEnv(endpoint, trust.allowDevelopmentTrust);
  const probe = (path: string, periodSeconds: number, failureThreshold: number): V1Container['readinessProbe'] => ({
    httpGet: { path, port: 'admin' },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  return {
    name: 'proxy',
    image: endpoint.spec.proxy.image ?? image.image,
    imagePullPolicy: image.pullPolicy,
    args: ['--config', PROXY_PATHS.configFile],
    ...(env.length > 0 ? { env } : {}),
    ports: [
      { name: 'http', containerPort: PROXY_PORTS.api, protocol: 'TCP' },
      { name: 'admin', containerPort: PROXY_PORTS.admin, protocol: 'TCP' },
    ],
    // Startup and liveness are on /healthz, which stays true while the proxy waits for its first
    // verification, so kubelet never restarts a proxy still within its window. Readiness is on
    // /readyz, false until the proxy verified once or the window passed (docs/adr/0013): with
    // maxUnavailable 0 a rollout keeps the verified pods until the new ones verified.
    startupProbe: probe('/healthz', 1, 30),
    readinessProbe: probe('/readyz', 5, 2),
    livenessProbe: probe('/healthz', 10, 3),
    lifecycle: { preStop: { sleep: { seconds: 5 } } },
    resources: (endpoint.spec.proxy.resources as V1Container['resources'] | undefined) ?? DEFAULT_RESOURCES,
    securityContext: hardened(),
    volumeMounts: proxyMounts(volumes),
  };
}

/** PRIVATEMODE_RESOURCES are privatemode-proxy's requests and limits: a Go process that relays and encrypts. */
const PRIVATEMODE_RESOURCES = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } };

/** privatemodeVolumes are privatemode-proxy's own: the provider key and a writable workspace. */
export function privatemodeVolumes(endpoint: InferenceEndpoint): V1Volume[] {
  return [providerKeyVolume(endpoint), { name: VOLUMES.privatemodeWorkspace, emptyDir: { sizeLimit: '64Mi' } }];
}

/**
 * privatemodeContainer is Privatemode's privatemode-proxy as a native sidecar of the proxy pod
 * (docs/adr/0020): started before the proxy (its startup probe waits until it listens), the
 * Privatemode key mounted into it alone and read from the file (`--apiKey=@file`), hardened as the
 * proxy is. Its image is the operator's --privatemode-proxy-image, pinned by digest.
 */
export function privatemodeContainer(image: ProxyImage): V1Container {
  if (image.privatemodeProxyImage === undefined) throw new Error('provider privatemode needs the operator\'s --privatemode-proxy-image');
  const tcp = (periodSeconds: number, failureThreshold: number): V1Container['readinessProbe'] => ({ tcpSocket: { port: PRIVATEMODE.port }, periodSeconds, failureThreshold, timeoutSeconds: 2 });
  return {
    name: 'privatemode-proxy',
    image: image.privatemodeProxyImage,
    imagePullPolicy: 'IfNotPresent',
    restartPolicy: 'Always',
    args: [`--apiKey=@${PRIVATEMODE.keyFile}`, `--port=${String(PRIVATEMODE.port)}`, `--workspace=${PRIVATEMODE.workspaceDir}`],
    ports: [{ name: 'privatemode', containerPort: PRIVATEMODE.port, protocol: 'TCP' }],
    // privatemode-proxy attests and fetches its secret before it serves; the proxy starts after.
    startupProbe: tcp(1, 120),
    readinessProbe: tcp(5, 2),
    livenessProbe: tcp(10, 3),
    resources: PRIVATEMODE_RESOURCES,
    securityContext: hardened(),
    volumeMounts: [
      { name: VOLUMES.providerKey, mountPath: PRIVATEMODE.keyDir, readOnly: true },
      { name: VOLUMES.privatemodeWorkspace, mountPath: PRIVATEMODE.workspaceDir },
    ],
  };
}
