import { ListWatch, Watch, type KubeConfig, type KubernetesObject, type RequestContext } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from './api-errors.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { ACCEPT_METADATA, collectionPath, listAll, slim, type ResourceType } from './rest.ts';

/** ScopeEvents are where a scope delivers what its ListWatch saw. */
export interface ScopeEvents<T extends KubernetesObject> {
  readonly add: (object: T) => void;
  readonly update: (object: T) => void;
  readonly delete: (object: T) => void;
  /** synced is called once, when the first full list is in the cache. */
  readonly synced: () => void;
}

/** ScopeOptions say what one ListWatch covers and how it retries. */
export interface ScopeOptions {
  readonly resource: ResourceType;
  /** namespace is undefined for all namespaces (or a cluster-scoped resource). */
  readonly namespace: string | undefined;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly metadataOnly?: boolean;
  readonly restartDelayMs: { readonly initial: number; readonly max: number };
}

/** ScopeDeps are a scope's collaborators. */
export interface ScopeDeps {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * cacheWatch is client-node's Watch delivering what the cache keeps (rest.ts `slim`), asking the
 * API server for metadata alone when `metadataOnly`: the Watch takes its headers from the
 * kubeconfig's authentication step, so a kubeconfig that adds the Accept header there is enough.
 */
function cacheWatch(kc: KubeConfig, resource: ResourceType, metadataOnly: boolean): Watch {
  const config: KubeConfig = metadataOnly
    ? Object.assign(Object.create(kc) as KubeConfig, {
        async applySecurityAuthentication(context: RequestContext): Promise<void> {
          await kc.applySecurityAuthentication(context);
          context.setHeaderParam('Accept', ACCEPT_METADATA);
        },
      })
    : kc;
  const watch = new Watch(config);
  const watchOnce = watch.watch.bind(watch);
  watch.watch = (path, query, callback, done) =>
    watchOnce(path, query, (phase: string, object: KubernetesObject, raw: unknown) => callback(phase, slim(object, resource), raw), done);
  return watch;
}

/**
 * InformerScope is one client-node ListWatch (what makeInformer builds: list, then watch from the
 * list's resourceVersion, relisting when the server answers 410 Gone) plus what it lacks: when
 * the ListWatch reports an error it stops for good, so the scope starts it again after an
 * exponential delay, resuming from the last resourceVersion it saw.
 */
export class InformerScope<T extends KubernetesObject> {
  readonly #deps: ScopeDeps;
  readonly #options: ScopeOptions;
  readonly #listWatch: ListWatch<T>;
  readonly #onSynced: () => void;
  #lists = 0;
  #synced = false;
  #stopped = true;
  #errors = 0;
  #attempt = 0;
  #restartTimer: TimerHandle | undefined;

  constructor(deps: ScopeDeps, options: ScopeOptions, events: ScopeEvents<T>) {
    this.#deps = deps;
    this.#options = options;
    this.#onSynced = events.synced;
    const list = async (): Promise<{ items: T[]; metadata: { resourceVersion: string } }> => {
      const result = await listAll<T>(deps.kc, options.resource, options.namespace, options);
      this.#lists++;
      return { items: result.items, metadata: { resourceVersion: result.metadata?.resourceVersion ?? '' } };
    };
    // makeInformer is `new ListWatch(path, new Watch(kc), list, false, labelSelector)`; building it
    // directly lets a field selector through too.
    const path = collectionPath(options.resource, options.namespace);
    const watch = cacheWatch(deps.kc, options.resource, options.metadataOnly === true);
    this.#listWatch = new ListWatch<T>(path, watch, list, false, options.labelSelector, options.fieldSelector);
    this.#listWatch.on('add', events.add);
    this.#listWatch.on('update', events.update);
    this.#listWatch.on('delete', events.delete);
    this.#listWatch.on('error', (error: unknown) => this.#onError(error));
  }

  /** namespace is the namespace this scope covers, undefined for all. */
  get namespace(): string | undefined {
    return this.#options.namespace;
  }

  /** synced is true once a full list has landed in the cache. */
  get synced(): boolean {
    return this.#synced;
  }

  get(namespace: string, name: string): T | undefined {
    return this.#listWatch.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.#listWatch.list(namespace);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#round();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restartTimer !== undefined) this.#deps.clock.clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.#listWatch.stop();
  }

  async #round(): Promise<void> {
    const errorsBefore = this.#errors;
    const listsBefore = this.#lists;
    try {
      // Resolves once the list (if one was due) is in the cache and the watch is connected.
      await this.#listWatch.start();
    } catch (error) {
      this.#onError(error);
    }
    if (this.#lists > listsBefore && !this.#synced) {
      this.#synced = true;
      this.#onSynced();
    }
    if (this.#errors === errorsBefore) this.#attempt = 0;
    // ListWatch checks for stop only before listing; a stop that raced the list would leave the new watch open.
    if (this.#stopped) await this.#listWatch.stop();
  }

  #onError(error: unknown): void {
    // Stopping aborts the watch request, which ListWatch reports as an error too.
    if (this.#stopped) return;
    this.#errors++;
    if (this.#restartTimer !== undefined) return;
    const { initial, max } = this.#options.restartDelayMs;
    const delay = Math.min(initial * 2 ** this.#attempt, max);
    this.#attempt++;
    this.#deps.logger.warn(
      { resource: this.#options.resource.plural, namespace: this.#options.namespace ?? '*', retryInMs: delay, err: errorMessage(error) },
      'informer list/watch failed; restarting',
    );
    this.#restartTimer = this.#deps.clock.setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#stopped) void this.#round();
    }, delay);
  }
}
