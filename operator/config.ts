import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_CONCURRENT_ROLLOUTS } from './controller/rollout-pacer.ts';
import { loadPolicyFile } from './policy/load.ts';
import { builtInPolicy, type AdminPolicy } from './policy/model.ts';
import { FAILURE_POLICIES, type WebhookClient } from './webhook/configuration.ts';
import type { WebhookOptions } from './webhook/start.ts';
import { FAILURE_MODES } from './webhook/handler.ts';
import { parseClientNames, type ClientAuth } from './webhook/client-auth.ts';
import type { ServiceMonitorSettings } from './resources/networking.ts';

/** WebhookSettings configure sidecar injection (docs/sidecar-injection.md); absent, the webhook is off. */
export type WebhookSettings = Omit<WebhookOptions, 'image' | 'policy' | 'rotation'>;

/** OperatorOptions are the operator's settings, read once from flags and environment, here only. */
export interface OperatorOptions {
  /** kubeconfig is a kubeconfig file; absent, the in-cluster ServiceAccount (or $KUBECONFIG) is used. */
  readonly kubeconfig?: string;
  /** namespaces limits the operator to these namespaces; empty means all. */
  readonly namespaces: readonly string[];
  readonly proxyImage: string;
  readonly proxyImagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** proxyImagePullSecrets name Secrets in each endpoint's namespace its proxy pods pull with (private registries). */
  readonly proxyImagePullSecrets: readonly string[];
  /** privatemodeProxyImage is Privatemode's privatemode-proxy, pinned by digest, run beside the proxy for provider privatemode; unset, such endpoints are refused. */
  readonly privatemodeProxyImage?: string;
  /** allowDevelopmentTrust lets endpoints trust a development signing key (off by default, loud when on). */
  readonly allowDevelopmentTrust: boolean;
  /**
   * policy is the admin policy (--policy-file, read and validated once at start, frozen), or the
   * built-in closed default without one (operator/policy/model.ts). The reconciler and the webhook
   * refuse endpoints that violate it.
   */
  readonly policy: AdminPolicy;
  readonly leaderElection: boolean;
  /**
   * probeServiceRoutes: before an endpoint first turns Available, the operator connects through its
   * Service (DNS name, metrics port) so Available waits for the nodes' Service rules too. Needs the
   * operator to run in the cluster network (the chart turns it on).
   */
  readonly probeServiceRoutes: boolean;
  /** serviceMonitor: the scrape interval and the labels of the ServiceMonitor each endpoint gets (when the CRD is served). */
  readonly serviceMonitor: ServiceMonitorSettings;
  /** leaseNamespace holds the leader Lease: the operator's own namespace. */
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly identity: string;
  readonly probeHost: string;
  readonly probePort: number;
  readonly tokenReviewClusterRole: string;
  readonly apiServerPorts: readonly number[];
  readonly workers: number;
  /** maxConcurrentRollouts is how many endpoints of one upstream roll their proxy pods at once after a release change (--max-concurrent-rollouts). */
  readonly maxConcurrentRollouts: number;
  readonly logLevel: string;
  /** webhook is set when the API server can reach it (--webhook-service-name or --webhook-url). */
  readonly webhook?: WebhookSettings;
  /**
   * limitsStoreConfig is the JSON file listing the limits stores the operator reads budgets from and
   * its own credential for each (ADR 0009); absent, it reads none.
   */
  readonly limitsStoreConfig?: string;
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** SECRET_NAME is a DNS subdomain name (RFC 1123), what the API server requires of a Secret's name. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** LABEL_KEY and LABEL_VALUE are what the API server takes as a label's key (optional prefix) and value. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** serviceMonitorSettings reads --service-monitor-interval (a Prometheus duration) and --service-monitor-labels (`k=v,k=v`). */
function serviceMonitorSettings(interval: string, labels: string): ServiceMonitorSettings {
  if (!/^([0-9]+(ms|s|m|h))+$/.test(interval)) throw new Error(`--service-monitor-interval must be a Prometheus duration such as 30s or 1m, got ${JSON.stringify(interval)}`);
  const pairs = list(labels).map((pair) => {
    const [key = '', value = '', ...rest] = pair.split('=');
    if (!pair.includes('=') || rest.length > 0 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) throw new Error(`--service-monitor-labels takes key=value pairs a label may be, got ${JSON.stringify(pair)}`);
    return [key, value] as const;
  });
  return { interval, labels: Object.fromEntries(pairs) };
}

/**
 * privatemodeImage reads --privatemode-proxy-image. It must be pinned by digest: the image holds the
 * Privatemode key and does the attesting, so a tag that moves would change what is trusted.
 */
function privatemodeImage(value: string): { privatemodeProxyImage?: string } {
  if (value === '') return {};
  if (!/^[^\s@]+@sha256:[0-9a-f]{64}$/.test(value)) throw new Error(`--privatemode-proxy-image must be pinned by digest (name@sha256:<64 hex>), got ${JSON.stringify(value)}`);
  return { privatemodeProxyImage: value };
}

/** pullSecrets reads --proxy-image-pull-secrets: a name the API server would refuse fails the start instead of every proxy pod. */
function pullSecrets(value: string): string[] {
  const names = list(value);
  const bad = names.find((n) => n.length > 253 || !SECRET_NAME.test(n));
  if (bad !== undefined) throw new Error(`--proxy-image-pull-secrets: ${JSON.stringify(bad)} is not a Secret name (lower-case RFC 1123 subdomain)`);
  return names;
}

function positiveInteger(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function port(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${what} must be a port number, got ${JSON.stringify(value)}`);
  return n;
}

/** FLAGS are the operator's command-line flags; each has an OPERATOR_* environment variable too. */
const FLAGS = {
  kubeconfig: { type: 'string' },
  namespaces: { type: 'string' },
  'proxy-image': { type: 'string' },
  'proxy-image-pull-policy': { type: 'string' },
  'proxy-image-pull-secrets': { type: 'string' },
  'privatemode-proxy-image': { type: 'string' },
  'allow-development-trust': { type: 'boolean' },
  'policy-file': { type: 'string' },
  'leader-elect': { type: 'string' },
  'probe-service-routes': { type: 'string' },
  'service-monitor-interval': { type: 'string' },
  'service-monitor-labels': { type: 'string' },
  'lease-namespace': { type: 'string' },
  'probe-port': { type: 'string' },
  'probe-host': { type: 'string' },
  'token-review-cluster-role': { type: 'string' },
  'api-server-ports': { type: 'string' },
  workers: { type: 'string' },
  'max-concurrent-rollouts': { type: 'string' },
  'log-level': { type: 'string' },
  'webhook-host': { type: 'string' },
  'webhook-port': { type: 'string' },
  'webhook-url': { type: 'string' },
  'webhook-service-name': { type: 'string' },
  'webhook-service-namespace': { type: 'string' },
  'webhook-secret-name': { type: 'string' },
  'webhook-configuration-name': { type: 'string' },
  'webhook-failure-mode': { type: 'string' },
  'webhook-failure-policy': { type: 'string' },
  'webhook-client-ca-file': { type: 'string' },
  'webhook-client-names': { type: 'string' },
  'webhook-drain-seconds': { type: 'string' },
  'webhook-certificate-check-seconds': { type: 'string' },
  'limits-store-config': { type: 'string' },
} as const;

/**
 * parseOperatorOptions reads flags (which win) and the environment. Environment names follow the
 * flags: --proxy-image ↔ OPERATOR_PROXY_IMAGE; POD_NAMESPACE and POD_NAME come from the downward API.
 */
export function parseOperatorOptions(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: FLAGS,
  });
  const flags = values as Record<string, string | boolean | undefined>;
  /** pick returns the flag, else the OPERATOR_* variable named after it, else the fallback. */
  const pick = (flag: string, fallback: string): string => {
    const value = flags[flag];
    if (typeof value === 'string') return value;
    return env[`OPERATOR_${flag.toUpperCase().replaceAll('-', '_')}`] ?? fallback;
  };
  const pull = pick('proxy-image-pull-policy', 'IfNotPresent');
  if (!(PULL_POLICIES as readonly string[]).includes(pull)) throw new Error(`--proxy-image-pull-policy must be one of ${PULL_POLICIES.join(', ')}`);
  const image = pick('proxy-image', '');
  if (image === '') throw new Error('--proxy-image (or OPERATOR_PROXY_IMAGE) is required: the image the proxy pods run');
  const leaseNamespace = typeof flags['lease-namespace'] === 'string' ? flags['lease-namespace'] : env.POD_NAMESPACE ?? 'attested-inference-system';
  const webhook = webhookSettings(pick, env.POD_NAMESPACE ?? leaseNamespace);
  const allowDevelopmentTrust = values['allow-development-trust'] === true || env.OPERATOR_ALLOW_DEVELOPMENT_TRUST === 'true';
  const limitsStoreConfig = pick('limits-store-config', '');
  // ADR 0009: one password for whatever store an endpoint names reached a tenant's Redis; refuse the old setting loudly.
  if (env.OPERATOR_LIMITS_STORE_PASSWORD_FILE !== undefined) throw new Error('OPERATOR_LIMITS_STORE_PASSWORD_FILE was removed: list the stores and the credential for each in --limits-store-config');
  return {
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    namespaces: list(pick('namespaces', '')),
    proxyImage: image,
    proxyImagePullPolicy: pull as OperatorOptions['proxyImagePullPolicy'],
    proxyImagePullSecrets: pullSecrets(pick('proxy-image-pull-secrets', '')),
    ...privatemodeImage(pick('privatemode-proxy-image', '')),
    allowDevelopmentTrust,
    policy: adminPolicy(pick('policy-file', ''), allowDevelopmentTrust),
    leaderElection: pick('leader-elect', 'true') !== 'false',
    probeServiceRoutes: pick('probe-service-routes', 'false') === 'true',
    serviceMonitor: serviceMonitorSettings(pick('service-monitor-interval', '30s'), pick('service-monitor-labels', '')),
    leaseNamespace,
    leaseName: 'attested-inference-operator',
    identity: env.POD_NAME ?? `${hostname()}-${String(process.pid)}`,
    probeHost: pick('probe-host', '0.0.0.0'),
    probePort: port(pick('probe-port', '8081'), '--probe-port'),
    tokenReviewClusterRole: pick('token-review-cluster-role', 'attested-inference-tokenreview'),
    apiServerPorts: list(pick('api-server-ports', '443,6443')).map((p) => port(p, '--api-server-ports')),
    workers: Number(pick('workers', '4')),
    maxConcurrentRollouts: positiveInteger(pick('max-concurrent-rollouts', String(DEFAULT_MAX_CONCURRENT_ROLLOUTS)), '--max-concurrent-rollouts'),
    logLevel: pick('log-level', 'info'),
    ...(webhook ? { webhook } : {}),
    ...(limitsStoreConfig === '' ? {} : { limitsStoreConfig }),
  };
}

/** adminPolicy reads --policy-file once (a bad file stops the start, naming the option and the field), else the built-in closed default. */
function adminPolicy(file: string, allowDevelopmentTrust: boolean): AdminPolicy {
  return file === '' ? builtInPolicy(allowDevelopmentTrust) : loadPolicyFile(file, allowDevelopmentTrust);
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/**
 * webhookSettings reads the sidecar-injection flags. The webhook runs only when the API server can
 * reach it: through the operator's Service (--webhook-service-name, the chart's way) or a URL
 * (--webhook-url, for a control plane on this machine).
 */
function webhookSettings(pick: (flag: string, fallback: string) => string, ownNamespace: string): WebhookSettings | undefined {
  const url = pick('webhook-url', '');
  const service = pick('webhook-service-name', '');
  if (url === '' && service === '') return undefined;
  if (url !== '' && service !== '') throw new Error('--webhook-url and --webhook-service-name exclude each other');
  if (url !== '' && !url.startsWith('https://')) throw new Error(`--webhook-url must be an https URL, got ${JSON.stringify(url)}`);
  const namespace = pick('webhook-service-namespace', ownNamespace);
  const clientAuth = webhookClientAuth(pick);
  const client: WebhookClient = url !== '' ? { url } : { service: { name: service, namespace, port: 443 } };
  return {
    host: pick('webhook-host', '0.0.0.0'),
    port: port(pick('webhook-port', '9443'), '--webhook-port'),
    client,
    namespace,
    secretName: pick('webhook-secret-name', 'attested-inference-webhook-tls'),
    configurationName: pick('webhook-configuration-name', 'attested-inference-sidecar-injector'),
    failureMode: oneOf(pick('webhook-failure-mode', 'reject'), FAILURE_MODES, '--webhook-failure-mode'),
    failurePolicy: oneOf(pick('webhook-failure-policy', 'Fail'), FAILURE_POLICIES, '--webhook-failure-policy'),
    ...(clientAuth ? { clientAuth } : {}),
    ...seconds(pick('webhook-drain-seconds', ''), '--webhook-drain-seconds', 'drainMs', 0),
    ...seconds(pick('webhook-certificate-check-seconds', ''), '--webhook-certificate-check-seconds', 'certificateIntervalMs', 1),
  };
}

/** seconds reads an optional whole number of seconds (at least `min`) into milliseconds under `key`; empty leaves the default. */
function seconds<K extends string>(value: string, flag: string, key: K, min: number): Partial<Record<K, number>> {
  if (value === '') return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 3600) throw new Error(`${flag} must be a whole number of seconds from ${String(min)} to 3600, got ${JSON.stringify(value)}`);
  return { [key]: n * 1000 } as Partial<Record<K, number>>;
}

/**
 * webhookClientAuth reads --webhook-client-ca-file (the CA that signs the API server's client
 * certificate for webhooks) and --webhook-client-names (the CN or DNS SAN it must carry). Names
 * without a CA would check nothing, so they are refused.
 */
function webhookClientAuth(pick: (flag: string, fallback: string) => string): ClientAuth | undefined {
  const caFile = pick('webhook-client-ca-file', '');
  const allowedNames = parseClientNames(pick('webhook-client-names', ''));
  if (caFile === '' && allowedNames.length > 0) throw new Error('--webhook-client-names needs --webhook-client-ca-file: names are checked on a certificate the CA verified');
  return caFile === '' ? undefined : { caFile, allowedNames };
}
