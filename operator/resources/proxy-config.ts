import { stringify } from 'yaml';
import { ALLOW_DEVELOPMENT_TRUST_ENV } from '../../proxy/config/load.ts';
import { CONFIG_API_VERSION } from '../../proxy/config/schema.ts';
import { durationSeconds, priceMicros, upstreamUrl } from '../api/v1alpha1/values.ts';
import { providerKeyRefs, type InferenceEndpoint, type InferenceEndpointSpec, type JwtCallersSpec, type ModelPrice } from '../api/v1alpha1/types.ts';
import { limitsConfigFor } from './limits-config.ts';
import { endpointName, endpointNamespace } from './names.ts';

/** Where the proxy container finds its files; the Deployment and the sidecar mount them there. */
export const PROXY_PATHS = {
  configDir: '/etc/attested-inference',
  configFile: '/etc/attested-inference/proxy.yaml',
  providerKeyDir: '/var/run/secrets/inference/provider',
  providerKeyFile: '/var/run/secrets/inference/provider/api-key',
  callerKeysDir: '/var/run/secrets/inference/callers',
  promptCacheDir: '/var/run/secrets/inference/prompt-cache',
  promptCacheFile: '/var/run/secrets/inference/prompt-cache/secret',
} as const;

/**
 * providerKeyPaths are the files of an endpoint's provider keys inside their mount: `api-key` for
 * the one key (as ever), `api-key-0`, `api-key-1`, ... for a pool, in the order of the spec.
 */
export function providerKeyPaths(spec: InferenceEndpointSpec): readonly string[] {
  return spec.apiKeySecretRefs === undefined ? ['api-key'] : providerKeyRefs(spec).map((_, i) => `api-key-${String(i)}`);
}

/**
 * PRIVATEMODE is where privatemode-proxy runs beside the proxy for provider privatemode: its port
 * (clear of the proxy's and the sidecar's), its key and workspace mounts, and the port it reaches
 * Privatemode on. It listens on every interface; the endpoint's NetworkPolicy admits only the
 * proxy's ports, so from outside the pod only the proxy reaches it (docs/privatemode.md).
 */
export const PRIVATEMODE = {
  port: 18080,
  keyDir: '/var/run/secrets/privatemode',
  keyFile: '/var/run/secrets/privatemode/api-key',
  workspaceDir: '/workspace',
  egressPort: 443,
} as const;

/** ProxyPorts are the API and admin (metrics, probes) ports of one proxy. */
export interface ProxyPorts {
  readonly api: number;
  readonly admin: number;
}

/** The proxy's ports, shared by the Deployment, the Service, probes and the NetworkPolicy. */
export const PROXY_PORTS = { api: 8080, admin: 9090 } as const;

/**
 * SIDECAR_PORTS are an injected sidecar's ports: in the 15000s, like Istio's and Linkerd's, so they
 * stay clear of the ports apps commonly use (8080, 9090, 3000, 5000, 8000).
 */
export const SIDECAR_PORTS = { api: 15080, admin: 15090 } as const;
export const CONFIG_FILE_KEY = 'proxy.yaml';

/** ProxyConfigOptions are the operator-level settings that shape a rendered configuration. */
export interface ProxyConfigOptions {
  /** listenHost is where the API listener binds: all interfaces for a gateway, 127.0.0.1 for a sidecar. */
  readonly listenHost: string;
  /** ports default to PROXY_PORTS (a gateway); a sidecar uses SIDECAR_PORTS. */
  readonly ports?: ProxyPorts;
  /**
   * loopbackCallers renders `auth.mode: none`: a sidecar's API listens on 127.0.0.1, so only the
   * pod's own containers reach it and the pod's network namespace is the boundary.
   */
  readonly loopbackCallers?: boolean;
  /** allowDevelopmentTrust must be set to render `trust: Development`: the caller checked the flag and the admin policy. */
  readonly allowDevelopmentTrust?: boolean;
}

/**
 * requireTrustAllowed throws unless the endpoint's trust may be rendered: a development-trust
 * proxy trusts whatever key the tenant names, so no renderer produces one unless told explicitly
 * that development trust is allowed for the endpoint (defense in depth behind the reconciler's and
 * the webhook's policy check).
 */
export function requireTrustAllowed(endpoint: InferenceEndpoint, allowDevelopmentTrust: boolean | undefined): void {
  if (endpoint.spec.attestation.trust !== 'Development' || allowDevelopmentTrust === true) return;
  throw new Error(`refusing to render endpoint ${endpointNamespace(endpoint)}/${endpointName(endpoint)}: spec.attestation.trust is Development, which is not allowed for it`);
}

/** developmentTrustEnv is the proxy's opt-in to development trust (proxy/config/load.ts), for an endpoint allowed to use it. */
export function developmentTrustEnv(endpoint: InferenceEndpoint, allowDevelopmentTrust: boolean | undefined): { name: string; value: string }[] {
  requireTrustAllowed(endpoint, allowDevelopmentTrust);
  return endpoint.spec.attestation.trust === 'Development' ? [{ name: ALLOW_DEVELOPMENT_TRUST_ENV, value: 'true' }] : [];
}

function micros(price: ModelPrice): { inputPerMillion: number; cachedInputPerMillion?: number; outputPerMillion: number } {
  return {
    inputPerMillion: priceMicros(price.input),
    ...(price.cachedInput !== undefined ? { cachedInputPerMillion: priceMicros(price.cachedInput) } : {}),
    outputPerMillion: priceMicros(price.output),
  };
}

/** jwtAuth renders `spec.callers.jwt` as the proxy's `auth.jwt`; the key set's cache and refetch timing keep the proxy's defaults. */
function jwtAuth(jwt: JwtCallersSpec): Record<string, unknown> {
  return {
    jwksUrl: jwt.jwksUrl,
    issuer: jwt.issuer,
    audiences: [...jwt.audiences],
    algorithms: [...jwt.algorithms],
    clockSkewSeconds: jwt.clockSkewSeconds,
    ...(jwt.maxTokenAgeSeconds !== undefined ? { maxTokenAgeSeconds: jwt.maxTokenAgeSeconds } : {}),
    maxTokenBytes: jwt.maxTokenBytes,
    callerClaim: jwt.callerClaim,
    callerLabel: jwt.callerLabel,
    allowedCallers: [...(jwt.allowedCallers ?? [])],
  };
}

function listeners(options: ProxyConfigOptions): { listen: { host: string; port: number }; admin: { host: string; port: number } } {
  const ports = options.ports ?? PROXY_PORTS;
  return { listen: { host: options.listenHost, port: ports.api }, admin: { host: '0.0.0.0', port: ports.admin } };
}

function callerAuth(endpoint: InferenceEndpoint, options: ProxyConfigOptions): Record<string, unknown> {
  const { callers } = endpoint.spec;
  if (options.loopbackCallers === true) return { mode: 'none', audiences: [] };
  return {
    mode: callers.auth,
    audiences: [...(callers.audiences ?? [])],
    ...(callers.auth === 'serviceaccount' && callers.allowedServiceAccounts !== undefined ? { allowedServiceAccounts: [...callers.allowedServiceAccounts] } : {}),
    ...(callers.auth === 'static-keys' ? { staticKeysFile: PROXY_PATHS.callerKeysDir } : {}),
    ...(callers.auth === 'jwt' && callers.jwt ? { jwt: jwtAuth(callers.jwt) } : {}),
  };
}

/**
 * providerTarget is where the proxy sends requests and with which keys: privatemode-proxy on
 * loopback without a key (it holds it), else the upstream with the one key file or the pool.
 */
function providerTarget(spec: InferenceEndpointSpec): Record<string, unknown> {
  if (spec.provider === 'privatemode') return { upstreamUrl: `http://127.0.0.1:${String(PRIVATEMODE.port)}` };
  const keys = spec.apiKeySecretRefs === undefined
    ? { apiKeyFile: PROXY_PATHS.providerKeyFile }
    : { apiKeyFiles: providerKeyPaths(spec).map((path) => `${PROXY_PATHS.providerKeyDir}/${path}`) };
  return { upstreamUrl: upstreamUrl(spec), ...keys };
}

/**
 * proxyConfigFor renders the proxy's configuration (proxy/config/schema.ts) for an endpoint. Every
 * value comes from the validated spec or from `options`; the proxy's loader validates the result
 * again at start, and a test loads every rendering through it.
 */
export function proxyConfigFor(endpoint: InferenceEndpoint, options: ProxyConfigOptions): Record<string, unknown> {
  requireTrustAllowed(endpoint, options.allowDevelopmentTrust);
  const { spec } = endpoint;
  const a = spec.attestation;
  const prices = spec.prices;
  return {
    apiVersion: CONFIG_API_VERSION,
    endpoint: { name: endpointName(endpoint), namespace: endpointNamespace(endpoint) },
    ...listeners(options),
    provider: {
      type: spec.provider,
      ...providerTarget(spec),
      acknowledgeUnattested: spec.acknowledgeUnattested,
    },
    attestation: {
      trust: a.trust,
      configRepo: a.configRepo,
      bundleUrl: a.bundleUrl,
      ...(a.developmentPublicKey !== undefined ? { developmentPublicKey: a.developmentPublicKey } : {}),
      policy: a.policy,
      pinnedDigests: [...(a.pinnedDigests ?? [])],
      recheckIntervalSeconds: durationSeconds(a.recheckInterval),
      firstVerificationWindowSeconds: durationSeconds(a.firstVerificationWindow),
    },
    passthrough: { enabled: spec.passthrough.enabled },
    models: { allowed: [...(spec.models?.allowed ?? [])], aliases: { ...(spec.models?.aliases ?? {}) } },
    prices: {
      currency: prices.currency,
      models: Object.fromEntries(Object.entries(prices.models ?? {}).map(([model, price]) => [model, micros(price)])),
      ...(prices.default ? { default: micros(prices.default) } : {}),
    },
    auth: callerAuth(endpoint, options),
    limits: limitsConfigFor(spec),
    promptCache: spec.promptCache?.secretRef ? { userCacheSecretFile: PROXY_PATHS.promptCacheFile } : {},
    logLevel: spec.proxy.logLevel,
  };
}

/** proxyConfigYaml is the rendered configuration as the ConfigMap carries it. */
export function proxyConfigYaml(endpoint: InferenceEndpoint, options: ProxyConfigOptions): string {
  return stringify(proxyConfigFor(endpoint, options));
}
