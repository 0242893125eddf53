import { inject } from 'vitest';
import { kubeTools, type CommandResult, type KubeTools } from '../../harness/commands.ts';
import type { E2eImages } from './cluster.ts';

/** E2e is what scenarios use: kubectl and helm on the suite's cluster, and the images to deploy. */
export interface E2e extends KubeTools {
  readonly images: E2eImages;
  readonly kubeconfigPath: string;
  readonly binDir: string;
  /** run runs kubectl and returns stdout; a non-zero exit throws with kubectl's message. */
  run(args: readonly string[], input?: string): Promise<string>;
  /** json runs kubectl with `-o json` appended and parses the answer. */
  json<T = Record<string, unknown>>(args: readonly string[]): Promise<T>;
  /** apply server-side applies objects (YAML documents or objects). */
  apply(objects: readonly object[] | string): Promise<void>;
}

function failure(what: string, result: CommandResult): Error {
  return new Error(`${what} failed (exit ${String(result.code)}): ${result.stderr.trim() || result.stdout.trim()}`);
}

/** e2e binds the helpers to the cluster the global setup provided. */
export function e2e(): E2e {
  const kubeconfigPath = inject('e2eKubeconfig');
  const binDir = inject('e2eBinDir');
  const tools = kubeTools(binDir, kubeconfigPath, inject('e2eHome'));
  const run = async (args: readonly string[], input?: string): Promise<string> => {
    const result = await tools.kubectl(args, input);
    if (result.code !== 0) throw failure(`kubectl ${args.join(' ')}`, result);
    return result.stdout;
  };
  return {
    ...tools,
    images: inject('e2eImages'),
    kubeconfigPath,
    binDir,
    run,
    json: async <T>(args: readonly string[]): Promise<T> => JSON.parse(await run([...args, '-o', 'json'])) as T,
    apply: async (objects) => {
      // Objects go as JSON: kubectl reads YAML 1.1, where an unquoted `no` or `on` is a boolean.
      const input = typeof objects === 'string' ? objects : JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
      await run(['apply', '--server-side', '--force-conflicts', '--field-manager=e2e', '-f', '-'], input);
    },
  };
}

/** eventually retries `check` until it returns a value other than undefined, or fails naming `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `; last error: ${last.message}` : '';
      throw new Error(`timed out after ${String(options.timeoutMs ?? 180_000)} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1_000));
  }
}

/** KubeObject is the shape scenarios read from `kubectl get -o json`. */
export interface KubeObject {
  readonly metadata: { name: string; namespace?: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; generation?: number; deletionTimestamp?: string };
  readonly spec?: Record<string, unknown>;
  readonly status?: Record<string, unknown>;
}

/** Condition is a status condition. */
export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number;
}

/** conditionOf finds a condition in an object's status. */
export function conditionOf(object: KubeObject, type: string): Condition | undefined {
  return ((object.status?.conditions ?? []) as Condition[]).find((c) => c.type === type);
}

/** podsOf lists the pods matching a label selector. */
export async function podsOf(k: E2e, namespace: string, selector: string): Promise<PodObject[]> {
  return (await k.json<{ items: PodObject[] }>(['-n', namespace, 'get', 'pods', '-l', selector])).items;
}

/**
 * settledPodsOf waits until no pod of `selector` is terminating (a finished rollout's old pods drain
 * for a while after `kubectl rollout status` returns) and returns the pods that stay.
 */
export async function settledPodsOf(k: E2e, namespace: string, selector: string): Promise<PodObject[]> {
  return eventually(`the pods of ${selector} with none terminating`, async () => {
    const pods = await podsOf(k, namespace, selector);
    return pods.length > 0 && pods.every((p) => p.metadata.deletionTimestamp === undefined) ? pods : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1_000 });
}

/** PodObject is the part of a Pod the scenarios read. */
export interface PodObject extends KubeObject {
  readonly spec: {
    containers: ContainerSpec[];
    initContainers?: ContainerSpec[];
    volumes?: { name: string; secret?: { secretName: string }; projected?: unknown }[];
  };
  readonly status: {
    phase: string;
    podIP?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

/** ContainerSpec is the part of a container spec the scenarios read. */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly restartPolicy?: string;
  readonly env?: { name: string; value?: string; valueFrom?: unknown }[];
  readonly envFrom?: unknown[];
  readonly volumeMounts?: { name: string; mountPath: string }[];
}

/** ContainerStatus is the part of a container status the scenarios read. */
export interface ContainerStatus {
  readonly name: string;
  readonly ready: boolean;
  readonly started?: boolean;
  readonly restartCount: number;
  readonly state: { running?: { startedAt: string }; waiting?: { reason: string }; terminated?: { reason: string } };
}

/** podReady tells whether a pod's Ready condition is True. */
export function podReady(pod: PodObject): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
