import type { ProxyConfig } from '../config/schema.ts';
import { defaultKeyPrefix } from '../config/schema-limits.ts';
import type { ProxyMetrics } from '../metering/metrics.ts';
import { windowAt, type BudgetThreshold } from './budgets.ts';
import { createFailoverStore, type FailurePolicy } from './failover-store.ts';
import { createRateLimiter, type LimiterEvents } from './limiter.ts';
import { createMemoryStore } from './memory-store.ts';
import type { ConnectionLogger } from './redis-connection.ts';
import type { BucketStore, BudgetStatus, RateLimiter } from './types.ts';

/** LimitsStatus is what the admin endpoint (and through it the operator) shows of limits. */
export interface LimitsStatus {
  readonly store: 'memory' | 'redis';
  readonly up: boolean;
  readonly failurePolicy?: FailurePolicy;
  /** budgets are the namespace's budget windows as last seen: spend and next reset. */
  readonly budgets: readonly (BudgetStatus & { readonly resetAt: string })[];
}

/** Limits is the limiter with its store, its status and how to close its connection. */
export interface Limits {
  readonly limiter: RateLimiter;
  readonly status: () => LimitsStatus;
  readonly close: () => Promise<void>;
}

/** LimitsDeps: the clock (injected by tests), the metric handles and the logger. */
export interface LimitsDeps {
  readonly now: () => number;
  readonly metrics: ProxyMetrics;
  readonly logger: ConnectionLogger;
}

/** BudgetsSeen keeps the namespace's budget windows as this replica last saw them, and their gauges. */
class BudgetsSeen {
  readonly #windows = new Map<string, BudgetStatus>();
  readonly #currency: string;
  readonly #deps: LimitsDeps;

  constructor(currency: string, deps: LimitsDeps) {
    this.#currency = currency;
    this.#deps = deps;
  }

  /** saw records a window's status; a replica that saw a later window keeps it (an answer for an older one can arrive late). */
  saw(status: BudgetStatus): void {
    const previous = this.#windows.get(status.window);
    if (previous !== undefined && previous.resetAtMs > status.resetAtMs) return;
    this.#windows.set(status.window, status);
    this.#deps.metrics.budgetSpent.set({ window: status.window, currency: this.#currency }, status.spentMicros);
    this.#deps.metrics.budgetRemaining.set({ window: status.window, currency: this.#currency }, status.budgetMicros - status.spentMicros);
  }

  /**
   * current rolls every window that ended over to the one containing now, with nothing spent: the
   * window is part of its bucket's key, so a new one starts empty (ADR 0007), and an idle replica
   * would otherwise report the ended window's spend (and keep budget alerts firing) until its next request.
   */
  current(): BudgetStatus[] {
    const now = this.#deps.now();
    for (const status of [...this.#windows.values()]) {
      if (status.resetAtMs <= now) this.saw({ ...status, spentMicros: 0, resetAtMs: windowAt(status.window, now).endMs });
    }
    return [...this.#windows.values()];
  }
}

function budgetEvents(config: ProxyConfig, deps: LimitsDeps, seen: BudgetsSeen): LimiterEvents {
  const currency = config.prices.currency;
  return {
    budget(status: BudgetStatus, crossed: readonly BudgetThreshold[]): void {
      if (status.scope === 'namespace') seen.saw(status);
      for (const threshold of crossed) {
        deps.metrics.budgetThresholdCrossings.inc({ scope: status.scope, window: status.window, threshold: String(threshold) });
        deps.logger.warn({ ...status, threshold, currency }, `spend budget crossed ${threshold}%`);
      }
    },
  };
}

/**
 * createLimits builds the limiter for `config.limits`: in-memory per replica, or Redis shared by the
 * namespace with the in-memory store behind it for outages (failover-store.ts), with the store's
 * health, latency and the namespace's budgets on the metrics.
 */
export async function createLimits(config: ProxyConfig, deps: LimitsDeps): Promise<Limits> {
  const seen = new BudgetsSeen(config.prices.currency, deps);
  const events = budgetEvents(config, deps, seen);
  const { metrics } = deps;
  metrics.onBudgetCollect(() => seen.current());
  const redisConfig = config.limits.store.type === 'redis' ? config.limits.store.redis : undefined;
  let up = true;
  const setUp = (value: boolean): void => {
    up = value;
    metrics.limitsStoreUp.set(value ? 1 : 0);
  };
  setUp(redisConfig === undefined);
  let store: BucketStore = createMemoryStore();
  let close = (): Promise<void> => Promise.resolve();
  if (redisConfig !== undefined) {
    // The Redis client costs ~20 MiB; a proxy without a shared store does not load it.
    const [{ connectRedis }, { createRedisStore }] = await Promise.all([import('./redis-connection.ts'), import('./redis-store.ts')]);
    const connection = await connectRedis(redisConfig, { logger: deps.logger, onState: setUp });
    close = () => connection.close();
    store = createFailoverStore({
      shared: createRedisStore(connection.client, { keyPrefix: redisConfig.keyPrefix ?? defaultKeyPrefix(config.endpoint.namespace) }),
      local: store,
      policy: redisConfig.failurePolicy,
      observer: {
        result: (operation, ok, seconds) => {
          metrics.limitsStoreDuration.observe({ operation, result: ok ? 'ok' : 'error' }, seconds);
          if (!ok) metrics.limitsStoreErrors.inc({ operation });
          setUp(ok);
        },
      },
    });
  }
  return {
    limiter: createRateLimiter(config.limits, store, { now: deps.now, events }),
    status: () => ({
      store: redisConfig === undefined ? 'memory' : 'redis',
      up,
      ...(redisConfig === undefined ? {} : { failurePolicy: redisConfig.failurePolicy }),
      budgets: seen.current().map((b) => ({ ...b, resetAt: new Date(b.resetAtMs).toISOString() })),
    }),
    close,
  };
}
