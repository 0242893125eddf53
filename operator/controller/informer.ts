import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.ts';
import { InformerScope } from './informer-scope.ts';
import { objectKey } from './keys.ts';
import type { ResourceType } from './rest.ts';

export type { ResourceType } from './rest.ts';

/** AddHandler, UpdateHandler and DeleteHandler hear about cache changes; `previous` is the cached state before an update. */
export type AddHandler<T> = (object: T) => void;
export type UpdateHandler<T> = (object: T, previous: T | undefined) => void;
export type DeleteHandler<T> = (object: T) => void;

/**
 * ObjectSource is the part of an informer a controller needs: events and a read-only cache. Cached
 * objects are shared; treat them as immutable and copy before changing one.
 */
export interface ObjectSource<T extends KubernetesObject> {
  readonly resource: ResourceType;
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): readonly T[];
  onAdd(handler: AddHandler<T>): void;
  onUpdate(handler: UpdateHandler<T>): void;
  onDelete(handler: DeleteHandler<T>): void;
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

/** InformerOptions say what to watch. */
export interface InformerOptions {
  readonly resource: ResourceType;
  /** namespaces limits the informer to these namespaces (one list/watch each); absent or empty means all namespaces. */
  readonly namespaces?: readonly string[];
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** metadataOnly caches each object's metadata alone (PartialObjectMetadata): enough to see changes and resourceVersions. */
  readonly metadataOnly?: boolean;
  /** restartDelayMs is the backoff before restarting a failed list/watch: 1 s doubling to 30 s by default. */
  readonly restartDelayMs?: { readonly initial: number; readonly max: number };
}

/** InformerDeps are the informer's collaborators. */
export interface InformerDeps {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/**
 * ResourceInformer keeps a cache of one resource, filled by list+watch, and tells handlers about
 * every change. Objects are held as the API server sent them (JSON: timestamps are strings),
 * whether they came from the list or the watch, less their managedFields. A handler added after
 * start is first told about everything already cached, as client-go does for late handlers.
 */
export class ResourceInformer<T extends KubernetesObject> implements ObjectSource<T> {
  readonly resource: ResourceType;
  readonly #logger: Logger;
  readonly #scopes: InformerScope<T>[];
  readonly #byNamespace = new Map<string, InformerScope<T>>();
  readonly #previous = new Map<string, T>();
  readonly #adds: AddHandler<T>[] = [];
  readonly #updates: UpdateHandler<T>[] = [];
  readonly #deletes: DeleteHandler<T>[] = [];
  #syncWaiters: (() => void)[] = [];
  #started = false;

  constructor(deps: InformerDeps, options: InformerOptions) {
    this.resource = options.resource;
    this.#logger = deps.logger.child({ informer: options.resource.plural });
    const scopeDeps = { kc: deps.kc, logger: this.#logger, clock: deps.clock ?? systemClock };
    const events = {
      add: (o: T) => this.#added(o),
      update: (o: T) => this.#updated(o),
      delete: (o: T) => this.#deleted(o),
      synced: () => this.#scopeSynced(),
    };
    const namespaces = options.resource.namespaced && options.namespaces !== undefined && options.namespaces.length > 0
      ? [...new Set(options.namespaces)]
      : [undefined];
    this.#scopes = namespaces.map((namespace) => new InformerScope<T>(scopeDeps, {
      resource: options.resource,
      namespace,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      metadataOnly: options.metadataOnly,
      restartDelayMs: options.restartDelayMs ?? { initial: 1_000, max: 30_000 },
    }, events));
    for (const scope of this.#scopes) if (scope.namespace !== undefined) this.#byNamespace.set(scope.namespace, scope);
  }

  /** namespaces is the namespaces watched, or undefined for all. */
  get namespaces(): readonly string[] | undefined {
    return this.#byNamespace.size === 0 ? undefined : [...this.#byNamespace.keys()];
  }

  get(namespace: string, name: string): T | undefined {
    return this.#scopeFor(namespace)?.get(this.resource.namespaced ? namespace : '', name);
  }

  list(namespace?: string): readonly T[] {
    if (namespace !== undefined) return this.#scopeFor(namespace)?.list(namespace) ?? [];
    return this.#scopes.flatMap((scope) => scope.list());
  }

  onAdd(handler: AddHandler<T>): void {
    this.#adds.push(handler);
    if (this.#started) for (const object of this.list()) this.#call(handler, object);
  }

  onUpdate(handler: UpdateHandler<T>): void {
    this.#updates.push(handler);
  }

  onDelete(handler: DeleteHandler<T>): void {
    this.#deletes.push(handler);
  }

  /** start begins listing and watching; it returns at once, `waitForSync` tells when the cache is full. */
  start(): void {
    this.#started = true;
    for (const scope of this.#scopes) scope.start();
  }

  /** stop ends every watch; the cache keeps its last contents. */
  async stop(): Promise<void> {
    this.#started = false;
    await Promise.all(this.#scopes.map((scope) => scope.stop()));
  }

  /** hasSynced is true once every namespace's first list is in the cache; it stays true across watch restarts. */
  hasSynced(): boolean {
    return this.#scopes.every((scope) => scope.synced);
  }

  /** waitForSync resolves once hasSynced, or rejects with the signal's reason when `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#syncWaiters = this.#syncWaiters.filter((waiter) => waiter !== done);
        reject(signal?.reason as Error);
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(done);
    });
  }

  #scopeSynced(): void {
    if (!this.hasSynced()) return;
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const waiter of waiters) waiter();
  }

  #scopeFor(namespace: string): InformerScope<T> | undefined {
    return this.#byNamespace.size === 0 ? this.#scopes[0] : this.#byNamespace.get(namespace);
  }

  #added(object: T): void {
    this.#previous.set(objectKey(object), object);
    for (const handler of this.#adds) this.#call(handler, object);
  }

  #updated(object: T): void {
    const key = objectKey(object);
    const previous = this.#previous.get(key);
    this.#previous.set(key, object);
    for (const handler of this.#updates) this.#call(handler, object, previous);
  }

  #deleted(object: T): void {
    this.#previous.delete(objectKey(object));
    for (const handler of this.#deletes) this.#call(handler, object);
  }

  // A throwing handler must not break the watch: ListWatch would swallow the event silently.
  #call<A extends unknown[]>(handler: (...args: A) => void, ...args: A): void {
    try {
      handler(...args);
    } catch (error) {
      this.#logger.error({ err: error }, 'informer event handler threw');
    }
  }
}
