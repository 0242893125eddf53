import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

/** OperatorOptions are the operator's settings, read once from flags and environment, here only. */
export interface OperatorOptions {
  /** kubeconfig is a kubeconfig file; absent, the in-cluster ServiceAccount (or $KUBECONFIG) is used. */
  readonly kubeconfig?: string;
  /** namespaces limits the operator to these namespaces; empty means all. */
  readonly namespaces: readonly string[];
  readonly proxyImage: string;
  readonly proxyImagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** allowDevelopmentTrust lets endpoints trust a development signing key (off by default, loud when on). */
  readonly allowDevelopmentTrust: boolean;
  readonly leaderElection: boolean;
  /** leaseNamespace holds the leader Lease: the operator's own namespace. */
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly identity: string;
  readonly probeHost: string;
  readonly probePort: number;
  readonly tokenReviewClusterRole: string;
  readonly apiServerPorts: readonly number[];
  readonly workers: number;
  readonly logLevel: string;
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function port(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${what} must be a port number, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * parseOperatorOptions reads flags (which win) and the environment. Environment names follow the
 * flags: --proxy-image ↔ OPERATOR_PROXY_IMAGE; POD_NAMESPACE and POD_NAME come from the downward API.
 */
export function parseOperatorOptions(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      kubeconfig: { type: 'string' },
      namespaces: { type: 'string' },
      'proxy-image': { type: 'string' },
      'proxy-image-pull-policy': { type: 'string' },
      'allow-development-trust': { type: 'boolean' },
      'leader-elect': { type: 'string' },
      'lease-namespace': { type: 'string' },
      'probe-port': { type: 'string' },
      'probe-host': { type: 'string' },
      'token-review-cluster-role': { type: 'string' },
      'api-server-ports': { type: 'string' },
      workers: { type: 'string' },
      'log-level': { type: 'string' },
    },
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
  return {
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    namespaces: list(pick('namespaces', '')),
    proxyImage: image,
    proxyImagePullPolicy: pull as OperatorOptions['proxyImagePullPolicy'],
    allowDevelopmentTrust: values['allow-development-trust'] === true || env.OPERATOR_ALLOW_DEVELOPMENT_TRUST === 'true',
    leaderElection: pick('leader-elect', 'true') !== 'false',
    leaseNamespace: typeof flags['lease-namespace'] === 'string' ? flags['lease-namespace'] : env.POD_NAMESPACE ?? 'attested-inference-system',
    leaseName: 'attested-inference-operator',
    identity: env.POD_NAME ?? `${hostname()}-${String(process.pid)}`,
    probeHost: pick('probe-host', '0.0.0.0'),
    probePort: port(pick('probe-port', '8081'), '--probe-port'),
    tokenReviewClusterRole: pick('token-review-cluster-role', 'attested-inference-tokenreview'),
    apiServerPorts: list(pick('api-server-ports', '443,6443')).map((p) => port(p, '--api-server-ports')),
    workers: Number(pick('workers', '4')),
    logLevel: pick('log-level', 'info'),
  };
}
