/** RolloutPacerOptions: how many endpoints of one upstream may roll at once, and how long one turn may last. */
export interface RolloutPacerOptions {
  /** maxConcurrent is the most endpoints of one upstream whose proxy pods roll at the same time (--max-concurrent-rollouts). */
  readonly maxConcurrent: number;
  /** turnTimeoutMs bounds a turn: a rollout that has not settled by then no longer holds back the others. */
  readonly turnTimeoutMs: number;
}

/** DEFAULT_MAX_CONCURRENT_ROLLOUTS is --max-concurrent-rollouts' default. */
export const DEFAULT_MAX_CONCURRENT_ROLLOUTS = 5;
/** DEFAULT_TURN_TIMEOUT_MS is the Deployment controller's default progressDeadlineSeconds (600 s). */
export const DEFAULT_TURN_TIMEOUT_MS = 600_000;

/** RolloutPacerDeps: the clock, and who to tell that waiting endpoints may try for a turn again. */
export interface RolloutPacerDeps {
  readonly now: () => number;
  /** onTurnFreed hears the keys waiting in a group when a turn in it ends (the controller requeues them). */
  readonly onTurnFreed?: (keys: readonly string[]) => void;
}

/** Turn is the pacer's answer: roll now, or wait (`position` among the waiting, `rolling` holding turns). */
export type Turn =
  | { readonly granted: true }
  | { readonly granted: false; readonly position: number; readonly rolling: number; readonly newlyWaiting: boolean };

interface Group {
  /** rolling maps an endpoint key to when its turn began. */
  readonly rolling: Map<string, number>;
  /** waiting keeps the keys waiting for a turn in arrival order. */
  readonly waiting: Set<string>;
  /** overdue are keys whose turn timed out before they settled: they do not take a turn again by `occupy`. */
  readonly overdue: Set<string>;
}

/**
 * RolloutPacer grants rollouts per group (endpoints sharing an upstream, whose release changes
 * for all of them at once): at most maxConcurrent hold a turn; a turn ends when its endpoint
 * reports the rollout settled, or after turnTimeoutMs (a stuck rollout must not block the rest
 * forever; the Deployment's own progress deadline reports it). Waiting keys are told when a turn
 * ends, in arrival order. State is in memory: a new leader rebuilds it as endpoints already rolling
 * report in (`occupy`), so right after a failover up to maxConcurrent more may start.
 */
export class RolloutPacer {
  readonly #options: RolloutPacerOptions;
  readonly #deps: RolloutPacerDeps;
  readonly #groups = new Map<string, Group>();

  constructor(deps: RolloutPacerDeps, options: RolloutPacerOptions) {
    if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1) throw new Error(`maxConcurrent must be a positive integer, got ${String(options.maxConcurrent)}`);
    this.#deps = deps;
    this.#options = options;
  }

  /** request asks for a turn for `key` in `group`; a key holding one keeps it. */
  request(group: string, key: string): Turn {
    const g = this.#group(group);
    this.#expire(group, g);
    if (g.rolling.has(key)) return { granted: true };
    if (g.rolling.size < this.#options.maxConcurrent) {
      g.waiting.delete(key);
      g.rolling.set(key, this.#deps.now());
      return { granted: true };
    }
    const newlyWaiting = !g.waiting.has(key);
    g.waiting.add(key);
    return { granted: false, position: [...g.waiting].indexOf(key) + 1, rolling: g.rolling.size, newlyWaiting };
  }

  /** occupy records a rollout found already under way (begun by a previous leader) as holding a turn. */
  occupy(group: string, key: string): void {
    const g = this.#group(group);
    this.#expire(group, g);
    if (g.overdue.has(key)) return;
    g.waiting.delete(key);
    if (!g.rolling.has(key)) g.rolling.set(key, this.#deps.now());
  }

  /** settled ends `key`'s turn (its Deployment rolled out) and tells the waiting keys. */
  settled(group: string, key: string): void {
    const g = this.#groups.get(group);
    if (g === undefined) return;
    g.overdue.delete(key);
    if (g.rolling.delete(key)) this.#freed(group, g);
  }

  /** forget drops `key` from every group (the endpoint is gone or moved to another upstream). */
  forget(key: string): void {
    for (const [name, g] of this.#groups) {
      g.waiting.delete(key);
      g.overdue.delete(key);
      if (g.rolling.delete(key)) this.#freed(name, g);
    }
  }

  /** rolling is how many turns `group` holds now (metrics, tests). */
  rolling(group: string): number {
    return this.#groups.get(group)?.rolling.size ?? 0;
  }

  #group(name: string): Group {
    let g = this.#groups.get(name);
    if (g === undefined) {
      g = { rolling: new Map(), waiting: new Set(), overdue: new Set() };
      this.#groups.set(name, g);
    }
    return g;
  }

  #expire(name: string, g: Group): void {
    const now = this.#deps.now();
    let freed = false;
    for (const [key, since] of g.rolling) {
      if (now - since >= this.#options.turnTimeoutMs) {
        g.rolling.delete(key);
        g.overdue.add(key);
        freed = true;
      }
    }
    if (freed) this.#freed(name, g, false);
  }

  #freed(name: string, g: Group, notify = true): void {
    if (g.rolling.size === 0 && g.waiting.size === 0 && g.overdue.size === 0) this.#groups.delete(name);
    else if (notify && g.waiting.size > 0) this.#deps.onTurnFreed?.([...g.waiting]);
  }
}
