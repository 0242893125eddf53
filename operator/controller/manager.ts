import type { Logger } from 'pino';
import type { Controller } from './controller.ts';
import type { LeaderElector } from './leader-election.ts';
import type { ControllerMetrics } from './metrics.ts';

/** RunnableInformer is what the Manager needs of an informer: start, stop and sync state (ResourceInformer fits). */
export interface RunnableInformer {
  start(): void;
  stop(): Promise<void>;
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

/** ManagerDeps are the Manager's collaborators; without an elector this replica always leads (a single replica, or tests). */
export interface ManagerDeps {
  readonly logger: Logger;
  readonly metrics: ControllerMetrics;
  readonly elector?: LeaderElector;
}

/** LeaderRunnable is something besides controllers that runs only while this replica leads (the attestation watcher's polling). */
export interface LeaderRunnable {
  start(): void;
  stop(): void;
}

/** ManagedParts are what the Manager runs: every informer (those behind controllers and any others reconcilers read), the controllers, and other leader-only parts. */
export interface ManagedParts {
  readonly informers: readonly RunnableInformer[];
  readonly controllers: readonly Controller[];
  readonly leaderOnly?: readonly LeaderRunnable[];
}

/**
 * Manager runs the operator's controllers: every replica starts the informers (so caches are warm
 * and `/readyz` can pass on a follower too); only the leader runs controller workers, started when
 * it gains the lease and stopped, in-flight reconciles aborted and awaited, when it loses it; the
 * same holds for other leader-only parts. `stop` winds down in the order that keeps two replicas
 * from acting at once: workers, then the lease, then the queues and informers.
 */
export class Manager {
  readonly #logger: Logger;
  readonly #metrics: ControllerMetrics;
  readonly #elector: LeaderElector | undefined;
  readonly #parts: ManagedParts;
  readonly #stopping = new AbortController();
  #leading = false;
  #started = false;

  constructor(deps: ManagerDeps, parts: ManagedParts) {
    this.#logger = deps.logger.child({ component: 'manager' });
    this.#metrics = deps.metrics;
    this.#elector = deps.elector;
    this.#parts = parts;
    this.#metrics.leader.set(0);
  }

  /** isReady is true once every informer has synced; leadership does not matter. */
  isReady(): boolean {
    return this.#started && this.#parts.informers.every((informer) => informer.hasSynced());
  }

  /** isLeader is true while controllers run. */
  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * start starts the informers, waits for their caches (rejecting if `stop` comes first), then
   * campaigns for leadership, or leads at once without an elector. It resolves once campaigning began.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error('manager already started');
    this.#started = true;
    for (const informer of this.#parts.informers) informer.start();
    const signal = this.#stopping.signal;
    await Promise.all(this.#parts.informers.map((informer) => informer.waitForSync(signal)));
    await Promise.all(this.#parts.controllers.flatMap((controller) => controller.sources.map((source) => source.waitForSync(signal))));
    this.#logger.info({ informers: this.#parts.informers.length }, 'caches synced');
    if (this.#elector === undefined) {
      this.#startLeading();
      return;
    }
    this.#elector.start({
      onStartedLeading: (term) => this.#startLeading(term),
      onStoppedLeading: () => this.#stopLeading(),
      onNewLeader: (identity) => this.#logger.info({ leader: identity }, 'new leader observed'),
    });
  }

  /** stop stops leading (releasing the lease), shuts the queues down and stops the informers. */
  async stop(): Promise<void> {
    this.#stopping.abort(new Error('manager stopping'));
    if (this.#elector !== undefined) await this.#elector.stop();
    else await this.#stopLeading();
    await Promise.all(this.#parts.controllers.map((controller) => controller.shutdown()));
    await Promise.all(this.#parts.informers.map((informer) => informer.stop()));
    this.#logger.info('manager stopped');
  }

  // `term` is the leadership term's signal: a term that already ended must not start workers.
  #startLeading(term?: AbortSignal): void {
    if (this.#stopping.signal.aborted || term?.aborted === true) return;
    this.#leading = true;
    this.#metrics.leader.set(1);
    for (const part of this.#parts.leaderOnly ?? []) part.start();
    for (const controller of this.#parts.controllers) controller.start();
  }

  async #stopLeading(): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    this.#metrics.leader.set(0);
    // Leader-only parts stop first: a deposed leader must not keep polling upstreams while its reconciles wind down.
    for (const part of this.#parts.leaderOnly ?? []) part.stop();
    await Promise.all(this.#parts.controllers.map((controller) => controller.stop()));
  }
}
