import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTESTATION, LIMITS, OPERATOR, REQUESTS, TRAFFIC, VARIABLES, type Query } from '../../../hack/dashboard/queries.ts';
import { renderChart, ROOT } from '../../../hack/manifests/render.ts';
import { startOperator, type RunningOperator } from '../../../operator/app.ts';
import { parseOperatorOptions } from '../../../operator/config.ts';
import { runCommand } from '../../harness/commands.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { createEndpoint, installCrd, simulatorEndpointSpec } from '../operator/support.ts';
import { startPrometheus, type Sample, type TestPrometheus } from './prometheus-server.ts';
import { startLimitsProxies, type LimitsProxies } from './limits-proxies.ts';
import { chat, embed, Ledger, type Where } from './traffic.ts';

const LLAMA = { inputPerMillion: 900_000, cachedInputPerMillion: 450_000, outputPerMillion: 1_200_000 };
const NOMIC = { inputPerMillion: 50_000, outputPerMillion: 0 };
const ALL = { namespace: '.*', endpoint: '.*', model: '.*', rateInterval: '1m', range: '5m' };

/** grafana substitutes the dashboard's variables the way Grafana does (All is `.*`). */
function grafana(expr: string, vars: Partial<typeof ALL> = {}): string {
  const v = { ...ALL, ...vars };
  return expr.replaceAll('$namespace', v.namespace).replaceAll('$endpoint', v.endpoint).replaceAll('$model', v.model)
    .replaceAll('$__rate_interval', v.rateInterval).replaceAll('$__range', v.range);
}

/** keyed maps samples to `label|label…` → value, for whole-result comparisons. */
function keyed(samples: readonly Sample[], labels: readonly string[]): Record<string, number> {
  return Object.fromEntries(samples.map((s) => [labels.map((l) => s.metric[l] ?? '').join('|'), s.value]));
}

describe('the dashboard and alerts on a real Prometheus scraping real proxies and the operator', () => {
  const cluster = testCluster();
  const ledger = new Ledger();
  let simulator: EnclaveSimulator;
  let broken: EnclaveSimulator;
  let embeddings: EnclaveSimulator;
  let operator: RunningOperator;
  let prometheus: TestPrometheus;
  let opNs: Awaited<ReturnType<typeof createNamespace>>;
  let dir: string;
  let rulesFile: string;
  /** cleanups undo what beforeAll started, last first, however far it got. */
  const cleanups: (() => Promise<void>)[] = [];
  let chatAt: Where;
  let embedAt: Where;
  let brokenAt: Where;
  /** limits are team-d (namespace budgets) and team-e (a caller budget, and a limits store that goes down), both on Redis. */
  let limits: LimitsProxies;

  const q = async (query: Query | undefined, vars: Partial<typeof ALL> = {}): Promise<Sample[]> => {
    if (query === undefined) throw new Error('no query');
    return prometheus.query(grafana(query.expr, vars));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aio-prom-test-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await installCrd(cluster);
    opNs = await createNamespace(cluster.core, 'prom');
    cleanups.push(() => opNs.remove());
    simulator = await startEnclaveSimulator();
    cleanups.push(() => simulator.close());
    simulator.setUsage({ cachedTokens: 3 });
    // Embeddings answers carry no cache split in their body, so team-b's upstream reports none.
    embeddings = await startEnclaveSimulator();
    cleanups.push(() => embeddings.close());
    broken = await startEnclaveSimulator();
    cleanups.push(() => broken.close());
    broken.breakAttestation('bad-signature');
    const proxy = async (namespace: string, name: string, sim: EnclaveSimulator, extra: Record<string, unknown>): Promise<TestProxy> => {
      const started = await startTestProxy(simulatorConfig(sim, { endpoint: { name, namespace }, logLevel: 'warn', ...extra }));
      cleanups.push(() => started.close());
      return started;
    };
    // A bucket of 3 requests refilled at one a second: the 4th request in a row is refused.
    const a = await proxy('team-a', 'chat', simulator, { limits: { requestsPerMinute: 60, burstRequests: 3 } });
    const b = await proxy('team-b', 'embed', embeddings, { prices: { currency: 'USD', models: { 'nomic-embed-text': NOMIC } } });
    const c = await proxy('team-c', 'broken', broken, {});
    limits = await startLimitsProxies({ start: proxy, price: LLAMA, cleanups });
    const { budget: d, store: e, budgetAt, storeAt } = limits;
    chatAt = { namespace: 'team-a', endpoint: 'team-a/chat', apiUrl: a.apiUrl, prices: { 'llama3-3-70b': LLAMA } };
    embedAt = { namespace: 'team-b', endpoint: 'team-b/embed', apiUrl: b.apiUrl, prices: { 'nomic-embed-text': NOMIC } };
    brokenAt = { namespace: 'team-c', endpoint: 'team-c/broken', apiUrl: c.apiUrl, prices: { 'llama3-3-70b': LLAMA } };

    operator = await startOperator(parseOperatorOptions([
      '--kubeconfig', cluster.kubeconfigPath, '--proxy-image', 'registry.local/attested-inference-proxy:test', '--proxy-image-pull-policy', 'Never',
      '--namespaces', opNs.name, '--lease-namespace', opNs.name, '--allow-development-trust', '--probe-host', '127.0.0.1', '--probe-port', '0',
    ], { POD_NAME: 'operator-0' }), pino({ level: 'silent' }));
    cleanups.push(() => operator.stop());
    // Its pods can never be scheduled, so the endpoint stays Ready=False (the not-ready alert's case);
    // the other's upstream fails verification (the not-attested alert's case).
    const nowhere = { proxy: { podTemplate: { nodeSelector: { 'aio.test/nowhere': 'true' } } } };
    await createEndpoint(cluster, opNs.name, 'stuck', simulatorEndpointSpec(simulator, nowhere));
    await createEndpoint(cluster, opNs.name, 'unverified', simulatorEndpointSpec(broken, nowhere));

    const rule = (await renderChart((args) => cluster.helm(args), ['monitoring.prometheusRule.enabled=true', 'monitoring.prometheusRule.costBudget.default=1000'], ['monitoring.prometheusRule.costBudget.namespaces={"team-a":0.000001}']))
      .find((m) => m.kind === 'PrometheusRule');
    rulesFile = join(dir, 'rules.yaml');
    await writeFile(rulesFile, stringify(rule?.spec));
    const host = (url: string): string => new URL(url).host;
    prometheus = await startPrometheus([
      // What the operator's per-endpoint ServiceMonitor produces: `endpoint` is the port name, so the metric's own becomes exported_endpoint.
      { job: 'chat', address: host(a.adminUrl), honorLabels: false, labels: { namespace: 'team-a', pod: 'chat-proxy-0', service: 'chat', endpoint: 'metrics', container: 'proxy' } },
      // What plain Prometheus with prometheus.io/* annotations (kubernetes-pods job) produces.
      { job: 'kubernetes-pods', address: host(b.adminUrl), honorLabels: true, labels: { namespace: 'team-b', pod: 'embed-proxy-0' } },
      { job: 'kubernetes-pods', address: host(c.adminUrl), honorLabels: true, labels: { namespace: 'team-c', pod: 'broken-proxy-0' } },
      { job: 'kubernetes-pods', address: host(d.adminUrl), honorLabels: true, labels: { namespace: 'team-d', pod: 'budget-proxy-0' } },
      { job: 'store', address: host(e.adminUrl), honorLabels: false, labels: { namespace: 'team-e', pod: 'store-proxy-0', service: 'store', endpoint: 'metrics', container: 'proxy' } },
      // The chart's operator ServiceMonitor (honorLabels: true).
      { job: 'attested-inference-operator-metrics', address: host(operator.probes.url), honorLabels: true, labels: { namespace: opNs.name, pod: 'operator-0', service: 'attested-inference-operator-metrics', endpoint: 'http-metrics' } },
    ], [rulesFile]);
    cleanups.push(() => prometheus.stop());

    // Phase one creates every series (a refusal included); phase two happens after Prometheus saw
    // them, so increase() and rate() see it too.
    for (let i = 0; i < 4; i++) await chat(ledger, chatAt, { stream: i === 0 });
    await Promise.all([embed(ledger, embedAt), chat(ledger, brokenAt, { stream: false }), chat(ledger, budgetAt, { stream: false }), chat(ledger, storeAt, { stream: false })]);
    await limits.spent(limits.answerMicros);
    // team-e's caller spent its budget: refused in both phases, so rate() sees refusals.
    await limits.callerSpent();
    await chat(ledger, storeAt, { stream: false });
    await waitFor('two scrapes of every target, the last after team-d spent and team-e refused', async () =>
      (await prometheus.query('count_over_time(attested_inference_config_info[1m]) >= 2')).length === 5
      && (await prometheus.query('attested_inference_budget_spent_micros{namespace="team-d", window="day"} > 0')).length === 1
      && (await prometheus.query('attested_inference_rate_limited_total{namespace="team-e"} >= 1')).length === 1, { timeoutMs: 15_000, intervalMs: 250 });
    const refusedBefore = ledger.statuses.get('team-a/chat|429') ?? 0;
    for (let i = 0; i < 12 && (ledger.statuses.get('team-a/chat|429') ?? 0) === refusedBefore; i++) await chat(ledger, chatAt, { stream: i % 2 === 0 });
    for (let i = 0; i < 2; i++) await embed(ledger, embedAt);
    await chat(ledger, brokenAt, { stream: true });
    // team-d's second answer spends its day budget; the next two are refused with insufficient_quota.
    await chat(ledger, budgetAt, { stream: false });
    await limits.spent(2 * limits.answerMicros);
    for (let i = 0; i < 2; i++) await chat(ledger, budgetAt, { stream: false });
    // team-e's caller is refused again; then team-e loses Redis: FailOpen answers from the per-replica
    // store (which has seen no spend), each take and charge fails (an error) and store up drops to 0.
    await chat(ledger, storeAt, { stream: false });
    await limits.storeDown();
    await chat(ledger, storeAt, { stream: false });
    const end = Date.now() / 1000;
    await waitFor('two scrapes of every target after the traffic', async () => {
      const oldest = (await prometheus.query('min(timestamp(up))'))[0]?.value ?? 0;
      const conditions = await prometheus.query('attested_inference_operator_endpoint_condition{type=~"Ready|Attested", status="False"}');
      return oldest > end + 2 && conditions.length === 3;
    }, { timeoutMs: 20_000, intervalMs: 250 });
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('served the traffic the test expects: successes, rate-limit and budget refusals, attestation failures', () => {
    expect(ledger.statuses.get('team-a/chat|200')).toBeGreaterThanOrEqual(4);
    expect(ledger.statuses.get('team-a/chat|429')).toBeGreaterThanOrEqual(2);
    expect(ledger.statuses.get('team-b/embed|200')).toBe(3);
    expect(ledger.statuses.get('team-c/broken|503')).toBe(2);
    expect(ledger.statuses.get('team-d/budget|200')).toBe(2);
    expect(ledger.statuses.get('team-d/budget|429')).toBe(2);
    expect(ledger.statuses.get('team-e/store|200')).toBe(2);
    expect(ledger.statuses.get('team-e/store|429')).toBe(2);
    expect(ledger.tokens.get('team-a|team-a/chat|llama3-3-70b|cached_input')).toBe(3 * (ledger.statuses.get('team-a/chat|200') ?? 0));
  });

  it('shows token and cost totals equal to the sum of the usage the answers reported, exactly', async () => {
    const tokens = keyed(await q(TRAFFIC.totalsTokens[0]), ['namespace', 'endpoint', 'model', 'token_type']);
    expect(tokens).toEqual(Object.fromEntries(ledger.tokens));
    const cost = keyed(await q(TRAFFIC.totalsCost[0]), ['namespace', 'endpoint', 'model', 'currency']);
    expect(Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, Math.round(v * 1e6)]))).toEqual(
      Object.fromEntries([...ledger.cost].map(([k, v]) => [`${k}|USD`, v])),
    );
    expect(Object.keys(tokens).length).toBeGreaterThan(3);
  });

  it('answers every usage and cost panel by namespace, endpoint and model', async () => {
    expect(Object.keys(keyed(await q(TRAFFIC.tokensPerSecond[0]), ['namespace', 'endpoint', 'model'])).sort()).toEqual([
      'team-a|team-a/chat|llama3-3-70b', 'team-b|team-b/embed|nomic-embed-text', 'team-d|team-d/budget|llama3-3-70b', 'team-e|team-e/store|llama3-3-70b',
    ]);
    expect(Object.keys(keyed(await q(TRAFFIC.tokensPerSecondByType[0]), ['token_type'])).sort()).toEqual(['cached_input', 'input', 'output']);
    const perHour = await q(TRAFFIC.costPerHour[0]);
    expect(Object.keys(keyed(perHour, ['endpoint', 'model', 'currency'])).sort()).toEqual(['team-a/chat|llama3-3-70b|USD', 'team-b/embed|nomic-embed-text|USD', 'team-d/budget|llama3-3-70b|USD', 'team-e/store|llama3-3-70b|USD']);
    for (const panel of [TRAFFIC.costByNamespace[0], TRAFFIC.tokensInRange[0]]) {
      const samples = await q(panel);
      expect(samples.map((s) => s.metric.namespace).sort(), panel.expr).toEqual(['team-a', 'team-b', 'team-d', 'team-e']);
      for (const s of [...samples, ...perHour]) expect(s.value).toBeGreaterThan(0);
    }
  });

  it('filters by the namespace, endpoint and model variables, whatever the scrape set the endpoint label to', async () => {
    const only = async (vars: Partial<typeof ALL>): Promise<string[]> => (await q(TRAFFIC.tokensPerSecond[0], vars)).map((s) => s.metric.endpoint ?? '').sort();
    expect(await only({ endpoint: 'team-a/chat' })).toEqual(['team-a/chat']);
    expect(await only({ endpoint: 'team-b/embed' })).toEqual(['team-b/embed']);
    expect(await only({ namespace: 'team-b' })).toEqual(['team-b/embed']);
    expect(await only({ model: 'llama3-3-70b' })).toEqual(['team-a/chat', 'team-d/budget', 'team-e/store']);
    expect(await only({ endpoint: 'team-a/chat|team-b/embed' })).toEqual(['team-a/chat', 'team-b/embed']);

    const namespaces = await prometheus.api<string[]>(`/api/v1/label/namespace/values?match[]=${encodeURIComponent('attested_inference_config_info')}`);
    expect(namespaces.sort()).toEqual(['team-a', 'team-b', 'team-c', 'team-d', 'team-e']);
    const endpointQuery = VARIABLES.endpoint.slice('query_result('.length, -1);
    const endpoints = (await prometheus.query(grafana(endpointQuery))).map((s) => s.metric.endpoint);
    expect(endpoints.sort()).toEqual(['team-a/chat', 'team-b/embed', 'team-c/broken', 'team-d/budget', 'team-e/store']);
    const models = await prometheus.api<string[]>(`/api/v1/label/model/values?match[]=${encodeURIComponent('attested_inference_requests_total{namespace=~".*"}')}`);
    // Refused before their body is read (429), requests have model `unknown`.
    expect(models.sort()).toEqual(['llama3-3-70b', 'nomic-embed-text', 'unknown']);
  });

  it('answers the request panels: rate, error ratio, latency, time to first token, rate limits', async () => {
    expect(Object.keys(keyed(await q(REQUESTS.requestRate[0]), ['endpoint', 'status_code'])).sort()).toEqual([
      'team-a/chat|200', 'team-a/chat|429', 'team-b/embed|200', 'team-c/broken|503', 'team-d/budget|200', 'team-d/budget|429', 'team-e/store|200', 'team-e/store|429',
    ]);
    expect(keyed(await q(REQUESTS.errorRatio[0]), ['endpoint'])).toEqual({ 'team-a/chat': 0, 'team-b/embed': 0, 'team-c/broken': 1, 'team-d/budget': 0, 'team-e/store': 0 });
    for (const query of REQUESTS.latency) {
      const latency = keyed(await q(query), ['endpoint']);
      expect(Object.keys(latency).sort()).toEqual(['team-a/chat', 'team-b/embed', 'team-c/broken', 'team-d/budget', 'team-e/store']);
      for (const v of Object.values(latency)) expect(v).toBeGreaterThan(0);
    }
    for (const query of REQUESTS.timeToFirstToken) {
      const ttft = keyed(await q(query), ['endpoint']);
      expect(Object.keys(ttft)).toEqual(['team-a/chat']);
      expect(ttft['team-a/chat']).toBeGreaterThan(0);
    }
    expect(Object.keys(keyed(await q(REQUESTS.rateLimited[0]), ['endpoint', 'caller', 'limit'])).sort()).toEqual(['team-a/chat|anonymous|requests', 'team-d/budget|anonymous|budget', 'team-e/store|anonymous|budget']);
    expect(keyed(await q(REQUESTS.inFlight[0]), ['endpoint'])).toEqual({ 'team-a/chat': 0, 'team-b/embed': 0, 'team-c/broken': 0, 'team-d/budget': 0, 'team-e/store': 0 });
    expect(await q(REQUESTS.upstreamErrors[0])).toEqual([]);
  });

  it('answers the limits and budget panels: budget used, spend, 429s by limit and scope, crossings, store up, Redis latency and errors', async () => {
    const { answerMicros: answer, monthMicros: month } = limits;
    const used = keyed(await q(LIMITS.budgetUsed[0]), ['namespace', 'window']);
    expect(Object.keys(used).sort()).toEqual(['team-d|day', 'team-d|month']);
    expect(used['team-d|day']).toBe(1);
    expect(used['team-d|month']).toBeCloseTo((2 * answer) / month, 12);
    const [spentQuery, remainingQuery] = LIMITS.budgetSpend;
    expect(keyed(await q(spentQuery), ['namespace', 'window', 'currency'])).toEqual({ 'team-d|day|USD': (2 * answer) / 1e6, 'team-d|month|USD': (2 * answer) / 1e6 });
    expect(keyed(await q(remainingQuery), ['namespace', 'window', 'currency'])).toEqual({ 'team-d|day|USD': 0, 'team-d|month|USD': (month - 2 * answer) / 1e6 });
    expect(Object.keys(keyed(await q(LIMITS.refusals[0]), ['namespace', 'limit', 'scope'])).sort()).toEqual(['team-a|requests|caller', 'team-d|budget|namespace', 'team-e|budget|caller']);
    // team-d's second answer took its day across 80 and 100 %, its month across 80 %; team-e's first answer its caller's day.
    expect(Object.keys(keyed(await q(LIMITS.crossings[0]), ['namespace', 'scope', 'window', 'threshold'])).sort()).toEqual([
      'team-d|namespace|day|100', 'team-d|namespace|day|80', 'team-d|namespace|month|80', 'team-e|caller|day|100', 'team-e|caller|day|80',
    ]);
    // The in-memory store is always up; team-e's Redis was stopped.
    expect(keyed(await q(LIMITS.storeUp[0]), ['endpoint'])).toEqual({ 'team-a/chat': 1, 'team-b/embed': 1, 'team-c/broken': 1, 'team-d/budget': 1, 'team-e/store': 0 });
    expect(keyed(await q(LIMITS.storeUp[0], { namespace: 'team-e' }), ['endpoint'])).toEqual({ 'team-e/store': 0 });
    for (const query of LIMITS.storeLatency) {
      const latency = keyed(await q(query), ['operation']);
      expect(Object.keys(latency).sort(), query.expr).toEqual(['charge', 'take']);
      for (const v of Object.values(latency)) expect(v).toBeGreaterThan(0);
    }
    expect(Object.keys(keyed(await q(LIMITS.storeErrors[0]), ['endpoint', 'operation'])).sort()).toEqual(['team-e/store|charge', 'team-e/store|take']);
  });

  it('answers the attestation panels: up, age, accepted release, verifications, rollouts, conditions', async () => {
    expect(keyed(await q(ATTESTATION.up[0]), ['endpoint'])).toEqual({ 'team-a/chat': 1, 'team-b/embed': 1, 'team-c/broken': 0, 'team-d/budget': 1, 'team-e/store': 1 });
    const age = keyed(await q(ATTESTATION.age[0]), ['endpoint']);
    expect(Object.keys(age).sort()).toEqual(['team-a/chat', 'team-b/embed', 'team-d/budget', 'team-e/store']);
    for (const v of Object.values(age)) expect(v).toBeLessThan(120);
    expect(keyed(await q(ATTESTATION.release[0]), ['endpoint', 'trust', 'release_digest'])).toEqual({
      [`team-a/chat|Development|${simulator.release.releaseDigest}`]: 1,
      [`team-b/embed|Development|${simulator.release.releaseDigest}`]: 1,
      [`team-d/budget|Development|${simulator.release.releaseDigest}`]: 1,
      [`team-e/store|Development|${simulator.release.releaseDigest}`]: 1,
    });
    const verifications = Object.keys(keyed(await q(ATTESTATION.verifications[0]), ['endpoint', 'result']));
    expect(verifications).toEqual(expect.arrayContaining(['team-a/chat|success', 'team-b/embed|success', 'team-c/broken|failure']));
    expect(await q(ATTESTATION.rollouts[0])).toEqual([]);
    const conditions = keyed(await q(ATTESTATION.conditions[0]), ['endpoint', 'type', 'status']);
    expect(conditions[`${opNs.name}/stuck|Ready|False`]).toBe(1);
    expect(conditions[`${opNs.name}/stuck|Attested|True`]).toBe(1);
    expect(conditions[`${opNs.name}/unverified|Attested|False`]).toBe(1);
  });

  it('answers the operator panels: reconciles, errors, duration, queue depth, leader, verifications', async () => {
    const reconciles = keyed(await q(OPERATOR.reconcileRate[0]), ['controller', 'result']);
    expect(Object.keys(reconciles).length).toBeGreaterThan(0);
    for (const k of Object.keys(reconciles)) expect(k).toMatch(/^inferenceendpoint\|(success|error|requeue)$/);
    for (const s of await q(OPERATOR.reconcileErrors[0])) expect(s.metric.controller).toBe('inferenceendpoint');
    expect(Object.keys(keyed(await q(OPERATOR.reconcileDuration[0]), ['controller']))).toEqual(['inferenceendpoint']);
    expect(Object.keys(keyed(await q(OPERATOR.workqueueDepth[0]), ['controller']))).toEqual(['inferenceendpoint']);
    expect(keyed(await q(OPERATOR.leader[0]), ['pod'])).toEqual({ 'operator-0': 1 });
    expect(Object.keys(keyed(await q(OPERATOR.verifications[0]), ['result'])).sort()).toEqual(['failure', 'success']);
  });

  it('documents every operator metric in docs/metrics.md, with its type and labels', async () => {
    const text = await readFile(join(ROOT, 'docs', 'metrics.md'), 'utf8');
    const documented = Object.fromEntries([...text.matchAll(/^\| `([a-z_]+)` \((\w+)\) \| ([^|]*) \|/gm)]
      .map(([, name = '', type = '', labels = '']) => [name, `${type} ${[...labels.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? '').sort().join(',')}`]));
    const served = Object.fromEntries((await operator.registry.getMetricsAsJSON()).map((m) => {
      const labels = (operator.registry.getSingleMetric(m.name) as unknown as { labelNames: readonly string[] }).labelNames;
      return [m.name, `${m.type} ${[...labels].sort().join(',')}`];
    }));
    // The webhook's counter is registered only when the webhook runs (not in this test).
    const { attested_inference_webhook_injections_total: webhook, ...rest } = documented;
    expect(webhook).toBe('counter reason,result');
    expect(rest).toEqual(served);
  });

  it('evaluates every alert expression to the expected series, and Prometheus loads the rules healthy', async () => {
    const groups = (await prometheus.api<{ groups: { rules: { name: string; query: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules')).groups;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError ?? r.health}`)).toEqual([]);
    const firing: Record<string, string[]> = {};
    for (const rule of rules) {
      firing[rule.name] = (await prometheus.query(rule.query)).map((s) => s.metric.namespace ?? s.metric.endpoint ?? '').sort();
    }
    const { AttestedInferenceOperatorReconcileErrors: reconcileErrors, ...rest } = firing;
    // A status write that conflicts is retried as an error: a run may or may not see one.
    expect([[], [opNs.name]]).toContainEqual(reconcileErrors);
    expect(rest).toEqual({
      AttestedInferenceAttestationFailing: ['team-c'],
      AttestedInferenceAttestationStale: [],
      AttestedInferenceProviderKeyMissing: [],
      AttestedInferenceHighErrorRatio: ['team-c'],
      AttestedInferenceRateLimited: ['team-a'],
      // team-d: the day's budget is spent, the month's at 95 %; team-e: its caller's budget is spent
      // (a refusal AttestedInferenceRateLimited leaves out), and its proxy lost its Redis.
      AttestedInferenceBudgetNearlySpent: ['team-d'],
      AttestedInferenceBudgetExhausted: ['team-d'],
      AttestedInferenceCallerBudgetExhausted: ['team-e'],
      AttestedInferenceLimitsStoreDown: ['team-e'],
      AttestedInferenceCostOverBudget: ['team-a'],
      AttestedInferenceEndpointNotReady: [`${opNs.name}/stuck`, `${opNs.name}/unverified`],
      AttestedInferenceEndpointNotAttested: [`${opNs.name}/unverified`],
      AttestedInferenceOperatorNoLeader: [],
    });
    await waitFor('the cost alert (no `for`) to fire', async () => {
      const alerts = (await prometheus.api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts;
      return alerts.some((a) => a.labels.alertname === 'AttestedInferenceCostOverBudget' && a.labels.namespace === 'team-a' && a.state === 'firing');
    }, { timeoutMs: 10_000, intervalMs: 250 });
  });

  it('passes promtool check rules (committed and test rules) and the alerts unit tests', async () => {
    for (const file of [join(ROOT, 'config', 'prometheus', 'attested-inference.rules.yaml'), rulesFile]) {
      const checked = await runCommand('promtool', ['check', 'rules', file]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(0);
      expect(checked.stdout).toContain('SUCCESS: 14 rules found');
    }
    const tested = await runCommand('promtool', ['test', 'rules', join(import.meta.dirname, 'alerts.promtool.yaml')]);
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toContain('SUCCESS');
  });
});
