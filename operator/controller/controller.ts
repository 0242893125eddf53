import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage, isNotFound } from './api-errors.ts';
import { systemClock, type Clock } from './clock.ts';
import type { ObjectSource } from './informer.ts';
import { objectKey, type KeyMapper } from './keys.ts';
import type { ControllerMetrics, ReconcileOutcome } from './metrics.ts';
import type { RateLimiterOptions } from './rate-limiter.ts';
import { WorkQueue, type Workers } from './workqueue.ts';

/**
 * ReconcileResult says when to look at a key again: `requeueAfterMs` schedules a fresh look (an
 * attestation recheck) and resets the key's backoff; `requeue` retries with backoff without
 * counting an error. An empty result means done until something changes.
 */
export interface ReconcileResult {
  readonly requeueAfterMs?: number;
  readonly requeue?: boolean;
}

/**
 * Reconciler brings the object named by `key` (`namespace/name`) to its desired state. It reads
 * from caches, may throw to be retried with backoff, and should stop early when `signal` aborts
 * (leadership lost or shutting down). A 404 thrown from inside ends the reconcile quietly.
 */
export type Reconciler = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

/**
 * RelatedWatch maps events on another resource (owned Deployments, Pods) to primary keys. `echo`
 * tells an add or update that is the controller's own write coming back (nothing to look at
 * again); deletions always count.
 */
export interface RelatedWatch {
  readonly source: ObjectSource<KubernetesObject>;
  readonly map: KeyMapper;
  readonly echo?: (object: KubernetesObject) => boolean;
}

/** related builds a RelatedWatch with the source's own object type for the mapper. */
export function related<T extends KubernetesObject>(source: ObjectSource<T>, map: KeyMapper<T>, echo?: (object: KubernetesObject) => boolean): RelatedWatch {
  return { source, map: map as KeyMapper, ...(echo ? { echo } : {}) };
}

/** ControllerOptions describe one controller. */
export interface ControllerOptions<P extends KubernetesObject> {
  /** name labels metrics and logs: `inferenceendpoint`. */
  readonly name: string;
  readonly primary: ObjectSource<P>;
  readonly watches?: readonly RelatedWatch[];
  readonly reconcile: Reconciler;
  /** workers is how many keys are reconciled at once (default 2). */
  readonly workers?: number;
  readonly rateLimits?: RateLimiterOptions;
  /** updateFilter drops primary updates not worth a reconcile (say, only status changed); default keeps all. */
  readonly updateFilter?: (object: P, previous: P | undefined) => boolean;
}

/** ControllerDeps are a controller's collaborators. */
export interface ControllerDeps {
  readonly logger: Logger;
  readonly metrics: ControllerMetrics;
  readonly clock?: Clock;
}

/**
 * Controller turns cache events into keys on a rate-limited work queue and runs the reconciler
 * on them with a fixed number of workers. Events are queued all the time; keys are reconciled
 * only between `start` and `stop` (the Manager calls those on gaining and losing leadership).
 */
export class Controller<P extends KubernetesObject = KubernetesObject> {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #options: ControllerOptions<P>;
  readonly #logger: Logger;
  readonly #metrics: ControllerMetrics;
  readonly #clock: Clock;
  #workers: Workers | undefined;

  constructor(deps: ControllerDeps, options: ControllerOptions<P>) {
    this.name = options.name;
    this.#options = options;
    this.#logger = deps.logger.child({ controller: options.name });
    this.#metrics = deps.metrics;
    this.#clock = deps.clock ?? systemClock;
    this.queue = new WorkQueue({
      clock: this.#clock,
      onError: (key, error) => this.#logger.error({ key, err: error }, 'reconcile handler failed'),
    }, options.rateLimits);
    deps.metrics.trackQueue(options.name, () => this.queue.depth());
    this.#watchPrimary(options);
    for (const watch of options.watches ?? []) this.#watchRelated(watch);
  }

  /** sources is every cache this controller reads events from; they must be synced before it starts. */
  get sources(): readonly ObjectSource<KubernetesObject>[] {
    return [this.#options.primary, ...(this.#options.watches ?? []).map((watch) => watch.source)];
  }

  /** isRunning is true between start and stop. */
  isRunning(): boolean {
    return this.#workers !== undefined;
  }

  /** enqueue asks for `key` to be reconciled (for triggers outside the caches). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** enqueueAfter asks for `key` to be reconciled in `ms`. */
  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /**
   * start queues every cached primary object, since another replica may have led while this one
   * waited and level-based reconciles start from the whole picture, then starts the workers.
   */
  start(): void {
    if (this.#workers !== undefined) return;
    for (const object of this.#options.primary.list()) this.queue.add(objectKey(object));
    this.#workers = this.queue.run((key, signal) => this.#reconcile(key, signal), this.#options.workers ?? 2);
    this.#logger.info({ workers: this.#options.workers ?? 2 }, 'controller started');
  }

  /** stop aborts in-flight reconciles' signals and resolves when they return; queued keys wait for the next start. */
  async stop(): Promise<void> {
    const workers = this.#workers;
    this.#workers = undefined;
    await workers?.stop();
  }

  /** shutdown stops for good: no more keys are accepted. */
  async shutdown(): Promise<void> {
    this.#workers = undefined;
    await this.queue.shutdown();
  }

  #watchPrimary(options: ControllerOptions<P>): void {
    const enqueue = (object: P): void => this.queue.add(objectKey(object));
    options.primary.onAdd(enqueue);
    options.primary.onUpdate((object, previous) => {
      if (options.updateFilter === undefined || options.updateFilter(object, previous)) enqueue(object);
    });
    options.primary.onDelete(enqueue);
  }

  #watchRelated(watch: RelatedWatch): void {
    const enqueue = (object: KubernetesObject): void => {
      for (const key of watch.map(object)) this.queue.add(key);
    };
    const echo = watch.echo ?? ((): boolean => false);
    watch.source.onAdd((object) => {
      if (!echo(object)) enqueue(object);
    });
    // The previous state counts too: an object that changed owner or label concerns its old primary as well.
    watch.source.onUpdate((object, previous) => {
      if (echo(object)) return;
      enqueue(object);
      if (previous !== undefined) enqueue(previous);
    });
    watch.source.onDelete(enqueue);
  }

  async #reconcile(key: string, signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    let outcome: ReconcileOutcome;
    try {
      const result = await this.#options.reconcile(key, signal);
      outcome = this.#schedule(key, result);
    } catch (error) {
      if (signal.aborted) {
        // Interrupted by stop: not the reconciler's failure; the next leadership term picks the key up.
        this.queue.add(key);
        return;
      }
      outcome = this.#failed(key, error);
    }
    this.#metrics.reconcileDuration.observe({ controller: this.name }, (this.#clock.now() - started) / 1000);
    this.#metrics.reconcileTotal.inc({ controller: this.name, result: outcome });
  }

  #schedule(key: string, result: ReconcileResult): ReconcileOutcome {
    if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
      this.queue.forget(key);
      this.queue.addAfter(key, result.requeueAfterMs);
      return 'requeue';
    }
    if (result.requeue === true) {
      this.queue.addRateLimited(key);
      return 'requeue';
    }
    this.queue.forget(key);
    return 'success';
  }

  #failed(key: string, error: unknown): ReconcileOutcome {
    if (isNotFound(error)) {
      this.#logger.debug({ key }, 'object gone; nothing to reconcile');
      this.queue.forget(key);
      return 'success';
    }
    this.#metrics.reconcileErrors.inc({ controller: this.name });
    this.queue.addRateLimited(key);
    this.#logger.warn({ key, err: errorMessage(error), retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
    return 'error';
  }
}
