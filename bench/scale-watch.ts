import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

/**
 * Tracker follows one kind of object across all namespaces with a watch: the latest copy of each,
 * and when (performance.now()) it was first seen. A watch the API server ends is started again;
 * the objects it lists again keep their first-seen time.
 */
export class Tracker<T extends KubernetesObject> {
  readonly latest = new Map<string, T>();
  readonly firstSeen = new Map<string, number>();
  readonly #watch: Watch;
  readonly #path: string;
  readonly #query: Record<string, string>;
  readonly #listeners: ((key: string, object: T, at: number) => void)[] = [];
  #abort: AbortController | undefined;
  #stopped = false;

  constructor(kc: KubeConfig, path: string, labelSelector?: string) {
    this.#watch = new Watch(kc);
    this.#path = path;
    this.#query = labelSelector === undefined ? {} : { labelSelector };
  }

  /** onChange calls `listener` for every added or modified object. */
  onChange(listener: (key: string, object: T, at: number) => void): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    this.#abort = await this.#watch.watch(this.#path, this.#query, (phase: string, object: T) => {
      if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
      const at = performance.now();
      const key = `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
      if (!this.firstSeen.has(key)) this.firstSeen.set(key, at);
      this.latest.set(key, object);
      for (const listener of this.#listeners) listener(key, object, at);
    }, () => {
      if (!this.#stopped) void sleep(200).then(() => (this.#stopped ? undefined : this.start()));
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

/** waitUntil polls `check` every 100 ms until it holds or `timeoutMs` passes; it says which. */
export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (check()) return true;
    await sleep(100);
  }
  return check();
}
