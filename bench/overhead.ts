import type { ProxyChild, Upstream } from './children.ts';
import { runLoad } from './load.ts';
import type { LiteLLMStart } from './litellm.ts';
import type { Nginx } from './nginx.ts';
import type { BenchOptions } from './options.ts';
import { chatBody, plainRequest, STREAM_EVENTS, streamBody, type PreparedRequest, type Sealer } from './payloads.ts';
import type { ContenderId, Group, OverheadRow, RunMeasure, Scenario } from './results.ts';
import { median, medianBy, percentile } from './stats.ts';
import { runStreams } from './stream-client.ts';

/**
 * Proxy overhead: every contender answers the same requests, scenario by scenario and concurrency
 * by concurrency, interleaved within each repeat so drift on a busy machine hits all of them alike.
 * Each group is compared with its own floor: plaintext contenders with the plain upstream, EHBP
 * contenders with a client that seals its own requests to the upstream.
 */

/** OverheadDeps are the running processes and the run's bounds. */
export interface OverheadDeps {
  readonly options: BenchOptions;
  readonly upstream: Upstream;
  readonly tinfoil: ProxyChild;
  readonly plain: ProxyChild;
  readonly nginx: Nginx | undefined;
  readonly litellm: LiteLLMStart;
  readonly sealer: Sealer;
  readonly log: (line: string) => void;
}

interface Contender {
  readonly id: ContenderId;
  readonly group: Group;
  readonly url: string;
  readonly sealed: boolean;
  readonly proxy?: ProxyChild;
  /** budget replaces the run's request counts for a slow contender (LiteLLM). */
  readonly budget?: Budget;
}

/** Budget is how many requests (and repeats) one contender gets. */
interface Budget {
  readonly repeats: number;
  readonly warmupRequests: number;
  readonly requests: number;
  readonly warmupStreams: number;
  readonly streams: number;
}

const SCENARIOS: readonly Scenario[] = ['1KB', '32KB', 'stream'];
const DIRECT: Readonly<Record<Group, ContenderId>> = { plain: 'direct-plain', ehbp: 'direct-sealed' };

function contendersOf(deps: OverheadDeps): Contender[] {
  const list: Contender[] = [
    { id: 'direct-plain', group: 'plain', url: deps.upstream.url, sealed: false },
    { id: 'proxy-plain', group: 'plain', url: deps.plain.apiUrl, sealed: false, proxy: deps.plain },
    { id: 'direct-sealed', group: 'ehbp', url: deps.upstream.url, sealed: true },
    { id: 'proxy-encrypting', group: 'ehbp', url: deps.tinfoil.apiUrl, sealed: false, proxy: deps.tinfoil },
    { id: 'proxy-passthrough', group: 'ehbp', url: deps.tinfoil.apiUrl, sealed: true, proxy: deps.tinfoil },
  ];
  if (deps.nginx !== undefined) list.splice(2, 0, { id: 'nginx', group: 'plain', url: deps.nginx.url, sealed: false });
  if ('running' in deps.litellm) {
    const { repeats, warmupRequests, requests, streams } = deps.options.litellm;
    const budget = { repeats, warmupRequests, requests, warmupStreams: deps.options.warmupStreams, streams };
    list.splice(list.findIndex((c) => c.id === 'direct-sealed'), 0, { id: 'litellm', group: 'plain', url: deps.litellm.running.url, sealed: false, budget });
  }
  return list;
}

function requestsFor(c: Contender, body: Buffer, count: number, sealer: Sealer): PreparedRequest[] {
  return c.sealed ? sealer.pool(body, count) : [plainRequest(body)];
}

async function cpuOf(proxy: ProxyChild | undefined): Promise<number | undefined> {
  return proxy === undefined ? undefined : (await proxy.probe()).cpuMicros;
}

function cpuPer1k(before: number | undefined, after: number | undefined, completed: number): number | undefined {
  if (before === undefined || after === undefined || completed === 0) return undefined;
  return ((after - before) / 1e6 / completed) * 1000;
}

function budgetOf(c: Contender, options: BenchOptions): Budget {
  return c.budget ?? options;
}

async function measureLoad(c: Contender, body: Buffer, concurrency: number, deps: OverheadDeps): Promise<RunMeasure> {
  const { sealer } = deps;
  const options = { ...deps.options, ...budgetOf(c, deps.options) };
  const base = { url: c.url, connections: concurrency, timeoutMs: options.runTimeoutMs };
  const warmAmount = Math.max(options.warmupRequests, concurrency);
  await runLoad({ ...base, amount: warmAmount, requests: requestsFor(c, body, warmAmount + 2 * concurrency, sealer) });
  const requests = requestsFor(c, body, options.requests + 2 * concurrency, sealer);
  const before = await cpuOf(c.proxy);
  const r = await runLoad({ ...base, amount: options.requests, requests });
  const after = await cpuOf(c.proxy);
  return {
    completed: r.completed, errors: r.errors, rps: (r.completed / r.elapsedMs) * 1000,
    p50Ms: percentile(r.latenciesMs, 50), p99Ms: percentile(r.latenciesMs, 99), cpuSecPer1k: cpuPer1k(before, after, r.completed),
  };
}

function streamRequests(c: Contender, count: number, sealer: Sealer): PreparedRequest[] {
  const body = streamBody();
  return c.sealed ? sealer.pool(body, count) : Array.from({ length: count }, () => plainRequest(body));
}

async function measureStreams(c: Contender, concurrency: number, deps: OverheadDeps): Promise<RunMeasure> {
  const { sealer } = deps;
  const options = { ...deps.options, ...budgetOf(c, deps.options) };
  const warm = Math.max(options.warmupStreams, concurrency);
  await runStreams({ url: c.url, concurrency, requests: streamRequests(c, warm, sealer), timeoutMs: options.runTimeoutMs });
  const count = Math.max(options.streams, concurrency * 3);
  const requests = streamRequests(c, count, sealer);
  const before = await cpuOf(c.proxy);
  const r = await runStreams({ url: c.url, concurrency, requests, timeoutMs: options.runTimeoutMs });
  const after = await cpuOf(c.proxy);
  const totals = r.samples.map((s) => s.ttfbMs + s.bodyMs);
  const ttfb = r.samples.map((s) => s.ttfbMs);
  return {
    completed: r.samples.length, errors: r.errors, rps: (r.samples.length / r.elapsedMs) * 1000,
    p50Ms: percentile(totals, 50), p99Ms: percentile(totals, 99), cpuSecPer1k: cpuPer1k(before, after, r.samples.length),
    ttfbP50Ms: percentile(ttfb, 50), ttfbP99Ms: percentile(ttfb, 99), bodyMs: median(r.samples.map((s) => s.bodyMs)),
  };
}

function summarize(scenario: Scenario, concurrency: number, c: Contender, runs: readonly RunMeasure[]): OverheadRow {
  return {
    scenario, concurrency, group: c.group, contender: c.id, repeats: runs.length,
    requests: runs.reduce((n, r) => n + r.completed, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    rps: medianBy(runs, (r) => r.rps),
    p50Ms: medianBy(runs, (r) => r.p50Ms),
    p99Ms: medianBy(runs, (r) => r.p99Ms),
    cpuSecPer1k: medianBy(runs, (r) => r.cpuSecPer1k),
    ttfbP50Ms: medianBy(runs, (r) => r.ttfbP50Ms),
    ttfbP99Ms: medianBy(runs, (r) => r.ttfbP99Ms),
  };
}

const minus = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a - b);

/** withAdded fills the "added over direct" columns from the group's direct row. */
function withAdded(row: OverheadRow, direct: OverheadRow | undefined, bodyMs: ReadonlyMap<ContenderId, number | undefined>): OverheadRow {
  if (direct === undefined || row.contender === direct.contender) return row;
  const chunkGaps = STREAM_EVENTS - 1;
  const bodyDiff = minus(bodyMs.get(row.contender), bodyMs.get(direct.contender));
  return {
    ...row,
    addedP50Ms: minus(row.p50Ms, direct.p50Ms),
    addedP99Ms: minus(row.p99Ms, direct.p99Ms),
    ...(row.scenario === 'stream'
      ? { addedTtfbP50Ms: minus(row.ttfbP50Ms, direct.ttfbP50Ms), addedTtfbP99Ms: minus(row.ttfbP99Ms, direct.ttfbP99Ms), perChunkUs: bodyDiff === undefined ? undefined : (bodyDiff / chunkGaps) * 1000 }
      : {}),
  };
}

async function measureCell(scenario: Scenario, concurrency: number, deps: OverheadDeps): Promise<OverheadRow[]> {
  const contenders = contendersOf(deps);
  const runs = new Map<ContenderId, RunMeasure[]>(contenders.map((c) => [c.id, []]));
  for (let repeat = 0; repeat < deps.options.repeats; repeat++) {
    for (const c of contenders) {
      if (repeat >= budgetOf(c, deps.options).repeats) continue;
      const measure = scenario === 'stream'
        ? await measureStreams(c, concurrency, deps)
        : await measureLoad(c, chatBody(scenario === '1KB' ? 1024 : 32 * 1024), concurrency, deps);
      runs.get(c.id)!.push(measure);
      deps.log(`  ${scenario} c=${concurrency} #${repeat + 1} ${c.id}: ${measure.rps.toFixed(0)} req/s p50 ${measure.p50Ms.toFixed(3)} ms errors ${measure.errors}`);
    }
  }
  const rows = contenders.map((c) => summarize(scenario, concurrency, c, runs.get(c.id)!));
  const bodyMs = new Map(contenders.map((c) => [c.id, medianBy(runs.get(c.id)!, (r) => r.bodyMs)] as const));
  return rows.map((row) => withAdded(row, rows.find((d) => d.contender === DIRECT[row.group]), bodyMs));
}

function placeholder(scenario: Scenario, concurrency: number, contender: ContenderId, note: string): OverheadRow {
  return { scenario, concurrency, group: 'plain', contender, note, repeats: 0 };
}

/** measureOverhead runs every scenario at every concurrency and returns one row per contender. */
export async function measureOverhead(deps: OverheadDeps): Promise<OverheadRow[]> {
  const rows: OverheadRow[] = [];
  for (const scenario of SCENARIOS) {
    for (const concurrency of deps.options.concurrencies) {
      deps.log(`overhead: ${scenario} at concurrency ${concurrency}`);
      rows.push(...(await measureCell(scenario, concurrency, deps)));
      if (deps.nginx === undefined) rows.push(placeholder(scenario, concurrency, 'nginx', 'not installed'));
      if ('skipped' in deps.litellm) rows.push(placeholder(scenario, concurrency, 'litellm', deps.litellm.skipped));
    }
  }
  return rows;
}
