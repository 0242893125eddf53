import { Gauge, type Registry } from 'prom-client';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';

/** ConditionSource is what the condition gauge reads at each scrape. */
export interface ConditionSource {
  /** endpoints lists the endpoints in the informer cache. */
  readonly endpoints: () => readonly InferenceEndpoint[];
  /** exporting is false on replicas that do not lead, so one replica reports each endpoint. */
  readonly exporting: () => boolean;
}

/**
 * registerConditionMetric registers `attested_inference_operator_endpoint_condition`: value 1 for
 * each endpoint condition's current status, like kube-state-metrics' condition gauges, so alerts
 * need no kube-state-metrics. `endpoint` is `<namespace>/<name>`, the proxy's
 * `attested_inference_config_info` label, never a `namespace` label of our own (docs/architecture.md §6).
 * It is read from the cache at scrape time, so deleted endpoints disappear with no bookkeeping.
 */
export function registerConditionMetric(registry: Registry, source: ConditionSource): Gauge<'endpoint' | 'type' | 'status' | 'reason'> {
  const gauge: Gauge<'endpoint' | 'type' | 'status' | 'reason'> = new Gauge({
    name: 'attested_inference_operator_endpoint_condition',
    help: "InferenceEndpoint conditions (value 1) by endpoint (<namespace>/<name>), type, status and reason; exported by the leader only.",
    labelNames: ['endpoint', 'type', 'status', 'reason'],
    registers: [registry],
    collect: () => {
      gauge.reset();
      if (!source.exporting()) return;
      for (const endpoint of source.endpoints()) {
        const name = `${endpoint.metadata.namespace ?? ''}/${endpoint.metadata.name ?? ''}`;
        for (const c of endpoint.status?.conditions ?? []) gauge.set({ endpoint: name, type: c.type, status: c.status, reason: c.reason }, 1);
      }
    },
  });
  return gauge;
}
