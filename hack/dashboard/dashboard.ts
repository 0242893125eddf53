import { ATTESTATION, LIMITS, OPERATOR, REQUESTS, TRAFFIC, VARIABLES, type Query } from './queries.ts';

/** PanelSpec is one panel before layout: what it shows and how. */
interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly type: 'timeseries' | 'stat' | 'table';
  readonly unit: string;
  readonly queries: readonly Query[];
  /** instant asks for the latest value only (tables and stats). */
  readonly instant?: boolean;
}

/** Row is a titled group of panels, laid out two or three per line. */
interface Row {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

const ts = (title: string, unit: string, queries: readonly Query[], description: string): PanelSpec => ({ title, description, type: 'timeseries', unit, queries });
const table = (title: string, unit: string, queries: readonly Query[], description: string): PanelSpec => ({ title, description, type: 'table', unit, queries, instant: true });

const ROWS: readonly Row[] = [
  {
    title: 'Usage and cost',
    panels: [
      ts('Tokens per second', 'short', TRAFFIC.tokensPerSecond, 'All token types, by namespace, endpoint and model.'),
      ts('Tokens per second by type', 'short', TRAFFIC.tokensPerSecondByType, 'input (uncached), cached_input and output; the three add up to the total.'),
      ts('Spend per hour', 'currencyUSD', TRAFFIC.costPerHour, 'attested_inference_cost_micros_total / 1e6, in the price table currency.'),
      table('Cost in the selected range by namespace', 'currencyUSD', TRAFFIC.costByNamespace, 'increase() over the dashboard range (extrapolated by Prometheus).'),
      table('Tokens in the selected range', 'short', TRAFFIC.tokensInRange, 'increase() over the dashboard range (extrapolated by Prometheus).'),
      table('Tokens since each proxy started', 'short', TRAFFIC.totalsTokens, 'The counters as they stand: exact sums of the upstream usage reports; they restart with the proxy pods.'),
      table('Cost since each proxy started', 'currencyUSD', TRAFFIC.totalsCost, 'The cost counters as they stand, in currency units: exact.'),
    ],
  },
  {
    title: 'Requests',
    panels: [
      ts('Request rate by status', 'reqps', REQUESTS.requestRate, 'Inference requests answered per second, by HTTP status.'),
      ts('Error ratio (5xx)', 'percentunit', REQUESTS.errorRatio, 'Share of requests answered with 5xx, including 503 attestation_failed.'),
      ts('Request duration p50 / p95 / p99', 's', REQUESTS.latency, 'gen_ai_client_operation_duration_seconds: request received to last byte.'),
      ts('Time to first token p50 / p95 / p99', 's', REQUESTS.timeToFirstToken, 'gen_ai_server_time_to_first_token_seconds, streamed requests only.'),
      ts('Rate-limit rejections', 'reqps', REQUESTS.rateLimited, '429 answers by caller and the limit hit.'),
      ts('In-flight requests', 'short', REQUESTS.inFlight, 'Requests being served, streams included.'),
      ts('Upstream errors', 'reqps', REQUESTS.upstreamErrors, 'Failures talking to the upstream, by kind.'),
    ],
  },
  {
    title: 'Limits and budgets',
    panels: [
      ts('Budget used', 'percentunit', LIMITS.budgetUsed, "Share of each namespace budget spent in the current window (day or month, UTC), the most recent replica's view; at 100 % requests get 429 insufficient_quota."),
      ts('Budget spent and remaining', 'currencyUSD', LIMITS.budgetSpend, 'Namespace spend and what is left in the current window, in the price table currency; remaining goes negative by the overshoot of requests in flight.'),
      ts('429s by limit and scope', 'reqps', LIMITS.refusals, "Refusals by the limit hit (requests, tokens, budget) and whose it was (the caller's own or the namespace's)."),
      table('Budget thresholds crossed in the selected range', 'short', LIMITS.crossings, 'Charges that took a budget across 80 % or 100 %, counted once across replicas.'),
      { ...ts('Limits store up', 'short', LIMITS.storeUp, '1 while every proxy of the endpoint reaches its limits store (always 1 in memory); 0 means per-replica limits (FailOpen) or 503 limits_unavailable (FailClosed).'), type: 'stat', instant: true },
      ts('Redis round trip p50 / p99', 's', LIMITS.storeLatency, 'attested_inference_limits_store_duration_seconds by operation: take before a request, charge after it.'),
      ts('Redis errors', 'ops', LIMITS.storeErrors, 'Failed limits store operations (unreachable, timed out, refused), by operation.'),
    ],
  },
  {
    title: 'Attestation',
    panels: [
      { ...ts('Attestation up', 'short', ATTESTATION.up, '1 while every proxy of the endpoint holds a verified attestation; 0 means requests get 503.'), type: 'stat', instant: true },
      ts('Age of the last verification', 's', ATTESTATION.age, 'Seconds since the last successful verification, per endpoint (oldest proxy).'),
      table('Accepted release', 'short', ATTESTATION.release, 'The release digest and trust mode each endpoint accepts now.'),
      ts('Proxy verifications', 'ops', ATTESTATION.verifications, 'Verifications by result and failing step.'),
      table('Rollouts in the selected range', 'short', ATTESTATION.rollouts, 'Proxy rollouts the operator started because the attested release changed.'),
      table('Endpoint conditions', 'short', ATTESTATION.conditions, 'Conditions of each InferenceEndpoint, from the leading operator.'),
    ],
  },
  {
    title: 'Operator',
    panels: [
      ts('Reconciles by result', 'ops', OPERATOR.reconcileRate, 'success, error and requeue per second.'),
      ts('Reconcile errors', 'ops', OPERATOR.reconcileErrors, 'Failed reconciles retried with backoff.'),
      ts('Reconcile duration p95', 's', OPERATOR.reconcileDuration, 'Time spent in one reconcile.'),
      ts('Work queue depth', 'short', OPERATOR.workqueueDepth, 'Keys waiting (not in flight).'),
      ts('Leader', 'short', OPERATOR.leader, '1 for the replica holding the Lease.'),
      ts('Operator verifications', 'ops', OPERATOR.verifications, "The operator's own upstream verifications, by result."),
    ],
  },
];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function panelJson(spec: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Record<string, unknown> {
  return {
    id,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
    options: spec.type === 'table' ? { showHeader: true } : {},
    ...(spec.type === 'table' ? { transformations: [{ id: 'labelsToFields', options: {} }] } : {}),
    targets: spec.queries.map((query, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: query.expr,
      legendFormat: query.legend,
      ...(spec.instant === true ? { instant: true, range: false, format: 'table' } : { range: true }),
    })),
  };
}

function layout(): Record<string, unknown>[] {
  const panels: Record<string, unknown>[] = [];
  let y = 0;
  let id = 1;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y: y++, w: 24, h: 1 }, panels: [] });
    row.panels.forEach((spec, i) => {
      panels.push(panelJson(spec, id++, { x: (i % 3) * 8, y: y + Math.floor(i / 3) * 8, w: 8, h: 8 }));
    });
    y += Math.ceil(row.panels.length / 3) * 8;
  }
  return panels;
}

function variable(name: string, label: string, query: string, regex = ''): Record<string, unknown> {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: `${name}-variable` },
    regex,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
    sort: 1,
  };
}

/** dashboard is the Grafana dashboard JSON model (schema 39, Grafana 10 and later). */
export function dashboard(): Record<string, unknown> {
  return {
    uid: 'attested-inference',
    title: 'Attested inference',
    description: 'Tokens, cost, requests, limits and budgets, attestation and operator health of attested inference endpoints (docs/observability.md).',
    tags: ['attested-inference', 'llm'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    graphTooltip: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    annotations: { list: [] },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        variable('namespace', 'Namespace', VARIABLES.namespace),
        variable('endpoint', 'Endpoint', VARIABLES.endpoint, '/endpoint="([^"]+)"/'),
        variable('model', 'Model', VARIABLES.model),
      ],
    },
    panels: layout(),
  };
}

/** dashboardJson is the file's text: stable key order, two-space indent, final newline. */
export function dashboardJson(): string {
  return `${JSON.stringify(dashboard(), null, 2)}\n`;
}
