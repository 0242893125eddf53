import type { Logger } from 'pino';
import { errorMessage, isConflict } from './api-errors.ts';
import { jittered, sleep, systemClock, type Clock } from './clock.ts';
import { JITTER_FACTOR, decide, observe, released, validateTimings, type ElectionTimings, type Observation } from './lease-logic.ts';
import type { LeaseStore } from './lease-store.ts';

/** LeaderElectionConfig is who this replica is and client-go's timings (defaults 15 s, 10 s, 2 s). */
export interface LeaderElectionConfig extends Partial<ElectionTimings> {
  /** identity names this replica in the lease (usually the pod name); unique per replica. */
  readonly identity: string;
  /** releaseOnStop hands the lease back on a graceful stop so another replica takes over at once (default true). */
  readonly releaseOnStop?: boolean;
}

/** LeaderCallbacks hear about leadership. `signal` aborts when leadership ends; onStoppedLeading is awaited before the lease is released. */
export interface LeaderCallbacks {
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading(): void | Promise<void>;
  onNewLeader?(identity: string): void;
}

/** LeaderElectorDeps are the elector's collaborators; `random` feeds the retry jitter. */
export interface LeaderElectorDeps {
  readonly store: LeaseStore;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
}

/**
 * LeaderElector runs client-go's leader election on a Lease: candidates retry every retry period
 * (jittered) and take the lease when it is free or its holder has not renewed for a lease
 * duration; the leader renews every retry period and steps down when it could not renew for the
 * renew deadline, which is shorter than the lease, so it stops acting before anyone else may start.
 * Every write carries the resourceVersion it read: a conflict means another candidate won.
 * After losing the lease the elector becomes a candidate again.
 */
export class LeaderElector {
  readonly identity: string;
  readonly #store: LeaseStore;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #timings: ElectionTimings;
  readonly #releaseOnStop: boolean;
  readonly #stopping = new AbortController();
  #observation: Observation | undefined;
  #leader: string | undefined;
  #leading = false;
  /** #renewedAt is when the last successful acquire or renewal was sent (before its request: the conservative end). */
  #renewedAt = Number.NEGATIVE_INFINITY;
  #running: Promise<void> | undefined;

  constructor(deps: LeaderElectorDeps, config: LeaderElectionConfig) {
    if (config.identity === '') throw new Error('leader election identity must not be empty');
    this.identity = config.identity;
    this.#store = deps.store;
    this.#logger = deps.logger.child({ lease: deps.store.description, identity: config.identity });
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? Math.random;
    this.#timings = {
      leaseDurationSeconds: config.leaseDurationSeconds ?? 15,
      renewDeadlineMs: config.renewDeadlineMs ?? 10_000,
      retryPeriodMs: config.retryPeriodMs ?? 2_000,
    };
    validateTimings(this.#timings);
    this.#releaseOnStop = config.releaseOnStop ?? true;
  }

  /** isLeader is true between onStartedLeading and onStoppedLeading. */
  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * holdsLease is the write fence: true only while leading and the lease was renewed less than the
   * renew deadline ago. Other candidates may take the lease a lease duration after they last saw it
   * renewed; the gap between the two (5 s by default) is the margin that covers the time a write
   * takes to reach the API server. A process paused past its deadline (SIGSTOP, a long GC, a
   * frozen VM) fails this before its elector has even noticed.
   */
  holdsLease(): boolean {
    return this.#leading && this.#clock.now() < this.#renewedAt + this.#timings.renewDeadlineMs;
  }

  /** leader is the holder this replica last saw, if any. */
  leader(): string | undefined {
    return this.#leader;
  }

  /** start begins campaigning in the background; call it once. */
  start(callbacks: LeaderCallbacks): void {
    if (this.#running !== undefined) throw new Error('leader elector already started');
    this.#running = this.#run(callbacks).catch((error: unknown) => {
      this.#logger.error({ err: error }, 'leader election stopped unexpectedly');
    });
  }

  /** stop ends the campaign: a leader stops leading (awaiting onStoppedLeading), then releases the lease. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }

  // A method, not a local: the compiler would otherwise assume the flag cannot change across awaits.
  #isStopping(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #run(callbacks: LeaderCallbacks): Promise<void> {
    while (!this.#isStopping()) {
      if (!(await this.#acquire(callbacks))) return;
      const term = new AbortController();
      this.#leading = true;
      this.#logger.info('started leading');
      void Promise.resolve()
        .then(() => callbacks.onStartedLeading(term.signal))
        .catch((error: unknown) => this.#logger.error({ err: error }, 'onStartedLeading failed'));
      await this.#renewUntilLost();
      this.#leading = false;
      term.abort();
      this.#logger.info(this.#isStopping() ? 'stopping leadership on shutdown' : 'lost leadership: could not renew within the renew deadline');
      try {
        await callbacks.onStoppedLeading();
      } catch (error) {
        this.#logger.error({ err: error }, 'onStoppedLeading failed');
      }
      if (this.#isStopping() && this.#releaseOnStop) await this.#release();
    }
  }

  async #acquire(callbacks: LeaderCallbacks): Promise<boolean> {
    while (!this.#isStopping()) {
      const before = this.#leader;
      const won = await this.#tryAcquireOrRenew();
      if (this.#leader !== undefined && this.#leader !== before) callbacks.onNewLeader?.(this.#leader);
      if (won) return true;
      await sleep(this.#clock, jittered(this.#timings.retryPeriodMs, JITTER_FACTOR, this.#random), this.#stopping.signal);
    }
    return false;
  }

  // Renews every retry period; returns when stopping, or when no renewal succeeded for the renew deadline.
  async #renewUntilLost(): Promise<void> {
    let lastRenew = this.#clock.now();
    while (!this.#isStopping()) {
      await sleep(this.#clock, this.#timings.retryPeriodMs, this.#stopping.signal);
      if (this.#isStopping()) return;
      const remaining = lastRenew + this.#timings.renewDeadlineMs - this.#clock.now();
      if (remaining <= 0 || !(await this.#withDeadline(this.#tryAcquireOrRenew(), remaining))) {
        // Someone else holds it now (an operator deleted or overwrote the lease): no point waiting out the deadline.
        if (this.#leader !== this.identity) return;
        if (lastRenew + this.#timings.renewDeadlineMs <= this.#clock.now()) return;
        continue;
      }
      lastRenew = this.#clock.now();
    }
  }

  // A renewal that hangs past the deadline counts as failed; the leader must not outlive its lease waiting on it.
  async #withDeadline(attempt: Promise<boolean>, ms: number): Promise<boolean> {
    const deadline = new AbortController();
    const timeout = sleep(this.#clock, ms, deadline.signal).then(() => false);
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      deadline.abort();
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const sentAt = this.#clock.now();
    try {
      const current = await this.#store.get();
      const now = this.#clock.now();
      if (current !== undefined) {
        this.#observation = observe(this.#observation, current.record, now);
        this.#leader = current.record.holderIdentity === '' ? this.#leader : current.record.holderIdentity;
      }
      const decision = decide(current === undefined ? undefined : this.#observation, this.identity, now, this.#timings.leaseDurationSeconds);
      if (decision.kind === 'held') return false;
      const written = current === undefined
        ? await this.#store.create(decision.record)
        : await this.#store.update(decision.record, current.resourceVersion);
      this.#observation = { record: written.record, observedAt: this.#clock.now() };
      this.#leader = this.identity;
      this.#renewedAt = sentAt;
      return true;
    } catch (error) {
      // A conflict is the normal way to lose a race; anything else is worth a line in the log.
      if (!isConflict(error)) this.#logger.warn({ err: errorMessage(error) }, 'lease request failed');
      return false;
    }
  }

  async #release(): Promise<void> {
    try {
      const current = await this.#store.get();
      if (current?.record.holderIdentity !== this.identity) return;
      await this.#store.update(released(current.record, this.#clock.now()), current.resourceVersion);
      this.#logger.info('released the lease');
    } catch (error) {
      this.#logger.warn({ err: errorMessage(error) }, 'could not release the lease; it will expire instead');
    }
  }
}
