import { generateKeyPairSync } from 'node:crypto';
import type { E2e } from './kube.ts';

/**
 * The in-cluster fixtures the scenarios share: an enclave simulator reached over the pod network,
 * steered through the API server's service proxy, and a client pod that runs the openai SDK.
 */

export const SIM_NAMESPACE = 'aio-e2e-simulator';
export const SIM_NAME = 'enclave-simulator';
export const SIM_PORT = 8080;
/** SIM_URL is the simulator's in-cluster base URL, which its attestation binds (host and port). */
export const SIM_URL = `http://${SIM_NAME}.${SIM_NAMESPACE}.svc:${String(SIM_PORT)}`;
export const RELEASE_NAMESPACE = 'attested-inference-system';
export const RELEASE = 'attested-inference-operator';
export const HELPER_CLIENT = 'test/e2e/images/client.ts';

const SECURE = {
  runAsNonRoot: true,
  runAsUser: 65532,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** helperContainer is a container of the helper image running one of test/e2e/images/. */
export function helperContainer(k: E2e, name: string, args: readonly string[]): Record<string, unknown> {
  return { name, image: k.images.helper, imagePullPolicy: k.images.pullPolicy, args, securityContext: SECURE, volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] };
}

export const TMP_VOLUME = { name: 'tmp', emptyDir: {} };

/** deployment is a one-replica Deployment whose pods carry `labels` (its selector) and `annotations`. */
export function deployment(name: string, namespace: string, pod: { labels: Record<string, string>; annotations?: Record<string, string>; spec: Record<string, unknown> }): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: pod.labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: pod.labels },
      template: { metadata: { labels: pod.labels, ...(pod.annotations ? { annotations: pod.annotations } : {}) }, spec: pod.spec },
    },
  };
}

/** deploySimulator runs the simulator with a signing key made here and returns the public key (PEM). */
export async function deploySimulator(k: E2e): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const labels = { 'app.kubernetes.io/name': SIM_NAME };
  await k.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SIM_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'simulator-signing-key', namespace: SIM_NAMESPACE },
      stringData: { 'key.pem': privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    },
    deployment(SIM_NAME, SIM_NAMESPACE, {
      labels,
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            ...helperContainer(k, 'simulator', ['test/e2e/images/simulator.ts']),
            env: [
              { name: 'SIM_DOMAIN', value: new URL(SIM_URL).host },
              { name: 'SIM_SIGNING_KEY_FILE', value: '/etc/simulator/key.pem' },
              { name: 'SIM_PORT', value: String(SIM_PORT) },
            ],
            ports: [{ name: 'http', containerPort: SIM_PORT }],
            readinessProbe: { httpGet: { path: '/control/state', port: 'http' }, periodSeconds: 1 },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, { name: 'key', mountPath: '/etc/simulator', readOnly: true }],
          },
        ],
        volumes: [TMP_VOLUME, { name: 'key', secret: { secretName: 'simulator-signing-key' } }],
      },
    }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SIM_NAME, namespace: SIM_NAMESPACE },
      spec: { selector: labels, ports: [{ name: 'http', port: SIM_PORT, targetPort: 'http' }] },
    },
  ]);
  await k.run(['-n', SIM_NAMESPACE, 'rollout', 'status', `deployment/${SIM_NAME}`, '--timeout=180s']);
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

const SIM_PROXY = `/api/v1/namespaces/${SIM_NAMESPACE}/services/http:${SIM_NAME}:${String(SIM_PORT)}/proxy/control`;

/** simulator calls the in-cluster simulator's control API (GET, POST with a JSON body, DELETE). */
export async function simulator<T = Record<string, unknown>>(k: E2e, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const uri = `${SIM_PROXY}/${path}`;
  const out =
    method === 'GET'
      ? await k.run(['get', '--raw', uri])
      : method === 'DELETE'
        ? await k.run(['delete', '--raw', uri])
        : await k.run(['create', '--raw', uri, '-f', '-'], JSON.stringify(body ?? {}));
  return (out.trim() === '' ? {} : JSON.parse(out)) as T;
}

/** SimulatedRequest is one entry of the simulator's request log. */
export interface SimulatedRequest {
  readonly seq: number;
  readonly path: string;
  readonly encrypted: boolean;
  readonly headers: Record<string, string>;
  readonly status?: number;
}

/** simulatorRequests reads the simulator's request log. */
export async function simulatorRequests(k: E2e): Promise<SimulatedRequest[]> {
  return (await simulator<{ requests: SimulatedRequest[] }>(k, 'GET', 'requests')).requests;
}

/** INFERENCE_PATHS are the simulator paths that carry prompts. */
export const INFERENCE_PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/embeddings', '/v1/audio/transcriptions'];

/** idlePod is a pod whose one container (`container`) idles, for `kubectl exec` of the openai client. */
export function idlePod(k: E2e, pod: { name: string; namespace: string; container: string; annotations?: Record<string, string> }): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, ...(pod.annotations ? { annotations: pod.annotations } : {}) },
    spec: { terminationGracePeriodSeconds: 1, containers: [helperContainer(k, pod.container, [HELPER_CLIENT, 'idle'])], volumes: [TMP_VOLUME] },
  };
}

/** deployClient runs an idle client pod in `namespace` to `kubectl exec` the openai SDK from. */
export async function deployClient(k: E2e, namespace: string, name = 'client'): Promise<void> {
  await k.apply([idlePod(k, { name, namespace, container: 'client', annotations: { 'inference.attested.dev/inject': 'false' } })]);
  await k.run(['-n', namespace, 'wait', '--for=condition=Ready', `pod/${name}`, '--timeout=120s']);
}

/** ClientAnswer is what `client.ts chat` prints. */
export interface ClientAnswer {
  readonly content?: string;
  readonly model?: string;
  readonly usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  readonly error?: { status?: number; code?: string | null; message: string };
}

/** clientChat runs one chat completion from the client pod (or another pod's container); errors come back as `error`. */
export async function clientChat(k: E2e, namespace: string, baseUrl: string, options: { stream?: boolean; pod?: string; container?: string } = {}): Promise<ClientAnswer> {
  const target = [options.pod ?? 'client', ...(options.container === undefined ? [] : ['-c', options.container])];
  const args = ['-n', namespace, 'exec', ...target, '--', '/nodejs/bin/node', HELPER_CLIENT, 'chat', '--base-url', baseUrl];
  if (options.stream === true) args.push('--stream');
  const result = await k.kubectl(args);
  if (result.stdout.trim() === '') throw new Error(`client chat printed nothing (exit ${String(result.code)}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as ClientAnswer;
}

/** LoopResult is what `client.ts loop` prints. */
export interface LoopResult {
  readonly ok: number;
  readonly failed: number;
  readonly errors: unknown[];
}

/** openLoops are loops still running in client pods, stopped by `stopOpenLoops` after a failure. */
const openLoops = new Map<string, () => Promise<unknown>>();

/**
 * startLoop streams completions back to back from the client pod (retries off) until `stop` is
 * called (it drops a file the loop watches) and resolves with the loop's counts.
 */
export function startLoop(k: E2e, namespace: string, baseUrl: string, id: string): { stop: () => Promise<LoopResult> } {
  const stopFile = `/tmp/stop-${id}`;
  const running = k.kubectl(['-n', namespace, 'exec', 'client', '--', '/nodejs/bin/node', HELPER_CLIENT, 'loop', '--base-url', baseUrl, '--stop-file', stopFile, '--duration-ms', '600000']);
  const signal = (): Promise<string> => k.run(['-n', namespace, 'exec', 'client', '--', '/nodejs/bin/node', '-e', `require('node:fs').writeFileSync(${JSON.stringify(stopFile)}, '')`]);
  openLoops.set(id, signal);
  return {
    stop: async () => {
      openLoops.delete(id);
      await signal();
      const result = await running;
      if (result.code !== 0) throw new Error(`the client loop failed (exit ${String(result.code)}): ${result.stderr}`);
      return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as LoopResult;
    },
  };
}

/** stopOpenLoops ends the loops a failed test left running, so they do not load later scenarios. */
export async function stopOpenLoops(): Promise<void> {
  const signals = [...openLoops.values()];
  openLoops.clear();
  await Promise.allSettled(signals.map((signal) => signal()));
}
