import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** ReconcileOutcome is the `result` label of reconcile_total. */
export type ReconcileOutcome = 'success' | 'error' | 'requeue';

/** ControllerMetrics holds the controller runtime's metric handles, registered once per registry and shared by every controller. */
export interface ControllerMetrics {
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly workqueueDepth: Gauge<'controller'>;
  readonly leader: Gauge;
  /** trackQueue makes the depth gauge read `depth()` for `controller` at every scrape. */
  trackQueue(controller: string, depth: () => number): void;
}

// controller-runtime's reconcile-time buckets, trimmed: most reconciles take milliseconds, a slow
// API server or attestation fetch can take tens of seconds.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * createControllerMetrics registers the operator's controller metrics on `registry` (never
 * prom-client's global one). Labels name the controller only; Prometheus adds the pod's.
 */
export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const registers = [registry];
  const depthSources = new Map<string, () => number>();
  const workqueueDepth: Gauge<'controller'> = new Gauge({
    name: 'attested_inference_operator_workqueue_depth',
    help: 'Keys waiting in the controller work queue (not in flight, not delayed).',
    labelNames: ['controller'],
    registers,
    collect: () => {
      for (const [controller, depth] of depthSources) workqueueDepth.set({ controller }, depth());
    },
  });
  return {
    reconcileTotal: new Counter({
      name: 'attested_inference_operator_reconcile_total',
      help: 'Reconciles finished, by controller and result (success, error, requeue).',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'attested_inference_operator_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, by controller.',
      labelNames: ['controller'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'attested_inference_operator_reconcile_errors_total',
      help: 'Reconciles that failed and were retried with backoff, by controller.',
      labelNames: ['controller'],
      registers,
    }),
    workqueueDepth,
    leader: new Gauge({
      name: 'attested_inference_operator_leader',
      help: '1 while this replica holds the leader lease and runs the controllers, else 0.',
      registers,
    }),
    trackQueue: (controller, depth) => {
      depthSources.set(controller, depth);
    },
  };
}
