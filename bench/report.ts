import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STREAM_EVENTS } from './payloads.ts';
import { CONTENDER_LABELS, type BenchReport, type Footprint, type OperatorScale, type OverheadRow, type Scenario } from './results.ts';

/** Rendering a report: aligned text for the terminal, Markdown and JSON for `bench/results/`. */

type Table = { readonly title: string; readonly head: readonly string[]; readonly rows: readonly (readonly string[])[] };

const num = (value: number | undefined, digits: number): string => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));
const signed = (value: number | undefined, digits: number): string => (value === undefined || !Number.isFinite(value) ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`);

function overheadCells(r: OverheadRow, stream: boolean): string[] {
  const name = CONTENDER_LABELS[r.contender];
  // A short row (name, c, note) is printed across the numeric columns.
  if (r.note !== undefined) return [name, String(r.concurrency), r.note];
  const common = [name, String(r.concurrency), num(r.rps, 0), num(r.p50Ms, 3), num(r.p99Ms, 3)];
  const tail = [num(r.cpuSecPer1k, 3), String(r.errors ?? 0)];
  if (!stream) return [...common, signed(r.addedP50Ms, 3), signed(r.addedP99Ms, 3), ...tail];
  const cpuPerChunkUs = r.cpuSecPer1k === undefined ? undefined : (r.cpuSecPer1k * 1000) / STREAM_EVENTS;
  return [...common, num(r.ttfbP50Ms, 3), num(r.ttfbP99Ms, 3), signed(r.addedTtfbP50Ms, 3), signed(r.addedTtfbP99Ms, 3), signed(r.perChunkUs, 1), num(cpuPerChunkUs, 1), ...tail];
}

function overheadTable(rows: readonly OverheadRow[], scenario: Scenario): Table {
  const stream = scenario === 'stream';
  const title = stream ? 'Streaming, 200-event SSE answer (latency = whole stream)' : `Non-streaming chat, ${scenario} request`;
  const head = stream
    ? ['contender', 'c', 'streams/s', 'p50 ms', 'p99 ms', 'TTFT p50', 'TTFT p99', '+TTFT p50', '+TTFT p99', '+per-chunk µs', 'CPU µs/chunk', 'CPU s/1k', 'errors']
    : ['contender', 'c', 'req/s', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms', 'CPU s/1k', 'errors'];
  const selected = rows.filter((r) => r.scenario === scenario).sort((a, b) => a.concurrency - b.concurrency);
  return { title, head, rows: selected.map((r) => overheadCells(r, stream)) };
}

function scaleRows(s: OperatorScale): string[][] {
  const requests = Object.entries(s.requests).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${(v / s.endpoints).toFixed(1)}`).join(', ');
  return [
    ['endpoints / namespaces / simulated nodes', `${s.endpoints} / ${s.namespaces} / ${s.nodes} (${s.kubernetes}, control plane up in ${num(s.controlPlaneStartS, 1)} s)`],
    ['notes', s.notes.join('; ')],
    ['creates sent (16 at a time)', `${num(s.createS, 1)} s`],
    ['create to Deployment seen, p50 / p99 / max', `${num(s.toDeploymentP50Ms, 0)} / ${num(s.toDeploymentP99Ms, 0)} / ${num(s.toDeploymentMaxMs, 0)} ms`],
    ['first create to all Ready', `${num(s.allReadyS, 1)} s (${s.ready}/${s.endpoints} Ready)`],
    ['operator RSS before the first create / peak / when all Ready', `${num(s.idleRssMiB, 1)} / ${num(s.peakRssMiB, 1)} / ${num(s.readyRssMiB, 1)} MiB`],
    ['operator CPU until all Ready', `${num(s.createCpuSeconds, 2)} s`],
    ['API requests per endpoint (writes)', `${num(s.requestsPerEndpoint, 1)} (${num(s.writesPerEndpoint, 1)}); most: ${requests}`],
    ['reconciles; duration p50 / p99 (from its histogram)', `${s.reconciles}; ${num(s.reconcileP50Ms, 1)} / ${num(s.reconcileP99Ms, 1)} ms`],
    ...(s.steady === undefined ? [] : [[`steady state, ${s.steady.seconds} s: writes; lease renewals; CPU; RSS`, `${s.steady.writes}; ${s.steady.leaseRenewals}; ${num(s.steady.cpuSeconds, 2)} s; ${num(s.steady.rssMiB, 1)} MiB`]]),
    ...(s.rollout === undefined ? [] : [[
      `release switch for ${s.rollout.endpoints} endpoints (recheck ${s.rollout.recheckIntervalS} s): template p50 / p99; all rolled`,
      `${num(s.rollout.templateP50S, 1)} / ${num(s.rollout.templateP99S, 1)} s; ${num(s.rollout.allDoneS, 1)} s (${s.rollout.completed}/${s.rollout.endpoints})`,
    ]]),
  ];
}

function scaleTable(report: BenchReport): Table[] {
  const s = report.operatorScale;
  if (s === undefined) return [];
  return [{ title: 'Operator at scale (local control plane, simulated nodes; every request of the operator counted)', head: ['measure', 'value'], rows: scaleRows(s) }];
}

/** imageRows are the image sizes hack/images.sh recorded, or a row saying it never ran here. */
function imageRows(f: Footprint): string[][] {
  const images = f.images ?? [];
  if (images.length === 0) return [['image size', 'not measured (run hack/images.sh on this machine)']];
  return images.map((i) => [`image size: ${i.image.slice(i.image.lastIndexOf('/') + 1)}`, `${num(i.megabytes, 1)} MB (hack/images.sh, ${i.builtAt})`]);
}

function tablesOf(report: BenchReport): Table[] {
  const f = report.footprint;
  const footprint: Table = {
    title: 'Sidecar footprint (encrypting proxy, its own process)',
    head: ['measure', 'value'],
    rows: f === undefined
      ? [['footprint', 'not measured (failed; see errors)']]
      : [
          ['start to /readyz 200', `${num(f.readyMs, 0)} ms`],
          ['start to verified attestation (local simulator)', `${num(f.attestedMs, 0)} ms`],
          ['RSS idle (V8 heap used)', `${num(f.idleRssMiB, 1)} MiB (${num(f.heapUsedMiB[0], 1)})`],
          [`RSS after ${f.afterRequests} requests (V8 heap used)`, `${num(f.afterRequestsRssMiB, 1)} MiB (${num(f.heapUsedMiB[1], 1)})`],
          [`RSS with ${f.openStreamsReached}/${f.openStreams} open streams (V8 heap used)`, `${num(f.openStreamsRssMiB, 1)} MiB (${num(f.heapUsedMiB[2], 1)})`],
          ...imageRows(f),
        ],
  };
  const attestation: Table = {
    title: 'Attestation cost (one verification, fetch from loopback included)',
    head: ['verification', 'runs', 'first ms', 'median ms', 'min ms', 'max ms', 'errors'],
    rows: report.attestation.map((a) => (a.skipped !== undefined
      ? [a.name, '0', `skipped: ${a.skipped}`, '', '', '', String(a.errors)]
      : [a.name, String(a.runs), num(a.firstMs, 2), num(a.medianMs, 2), num(a.minMs, 2), num(a.maxMs, 2), String(a.errors)])),
  };
  const l = report.limits;
  const limits: Table = {
    title: `Shared limits check (limiter, ${String(l?.buckets ?? 6)} buckets per request, loopback redis-server, one call at a time)`,
    head: ['store', 'runs', 'check p50 µs', 'check p99 µs', 'reserve p50 µs', 'reserve p99 µs', 'settle p50 µs', 'settle p99 µs'],
    rows: l === undefined
      ? [['limits', '0', 'not measured (failed; see errors)', '', '', '', '', '']]
      : [
          ...(['memory', 'redis'] as const).map((store) => {
            const t = l[store];
            return [store === 'memory' ? 'in memory' : 'Redis', String(l.runs), num(t.admitP50Us, 1), num(t.admitP99Us, 1), num(t.reserveP50Us, 1), num(t.reserveP99Us, 1), num(t.chargeP50Us, 1), num(t.chargeP99Us, 1)];
          }),
          ['added by Redis', '', signed(l.addedP50Us, 1), signed(l.addedP99Us, 1), num(l.redis.reserveP50Us, 1), num(l.redis.reserveP99Us, 1), '', ''],
        ],
  };
  const targets: Table = { title: 'Targets (against baselines from this run)', head: ['target', 'goal', 'measured', 'verdict'], rows: report.targets.map((t) => [t.name, t.goal, t.measured, t.verdict]) };
  const overhead = (['1KB', '32KB', 'stream'] as const).map((s) => overheadTable(report.overhead, s));
  return [...overhead, footprint, attestation, limits, ...scaleTable(report), targets];
}

function header(report: BenchReport): string[] {
  const m = report.machine;
  return [
    `Benchmark (${report.mode}) started ${report.startedAt}, took ${report.durationS.toFixed(0)} s`,
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB.toFixed(1)} GiB, ${m.platform}, Node ${m.node}, Kubernetes ${m.kubernetes}, nginx ${m.nginx}, LiteLLM ${m.litellm}, load average ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')}`,
    'Every contender shares this machine with the load generator and the upstream; numbers from a busy machine are noisy.',
    'Added latency is relative to the direct row of the same group (plain upstream, or a client sealing its own requests); each value is the median over the repeats.',
    'Streams: TTFT is the time to the first body byte; +per-chunk is the extra time from first to last byte over the direct row, per gap between events; CPU µs/chunk is the proxy process CPU per stream / 200.',
    ...(report.mode === 'quick' ? ['Quick mode: one repeat and few samples, so p99 values are close to the maximum.'] : []),
  ];
}

function footer(report: BenchReport): string[] {
  return [
    ...report.notMeasured.map((n) => `Not measured: ${n}`),
    `Errors: ${report.errors}${report.failures.length > 0 ? ` (${report.failures.join('; ')})` : ''}`,
  ];
}

function textTable(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (i < 2 || r.length === t.head.length ? (r[i] ?? '').length : 0))));
  const line = (cells: readonly string[]): string => {
    if (cells.length < t.head.length) return [cells[0]!.padEnd(widths[0]!), cells[1]!.padEnd(widths[1]!), cells[2] ?? ''].join('  ');
    return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  };
  return [t.title, line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

function markdownTable(t: Table): string {
  const line = (cells: readonly string[]): string => `| ${[...cells, ...Array<string>(Math.max(0, t.head.length - cells.length)).fill('')].join(' | ')} |`;
  return [`### ${t.title}`, '', line(t.head), line(t.head.map((_, i) => (i < 2 ? '---' : '---:'))), ...t.rows.map(line)].join('\n');
}

/** renderText is the terminal report. */
export function renderText(report: BenchReport): string {
  return [...header(report), '', ...tablesOf(report).map((t) => `${textTable(t)}\n`), ...footer(report)].join('\n');
}

/** renderMarkdown is the report as Markdown. */
export function renderMarkdown(report: BenchReport): string {
  return [`# Benchmark results`, '', ...header(report).map((l) => `${l}  `), '', ...tablesOf(report).map((t) => `${markdownTable(t)}\n`), ...footer(report).map((l) => `${l}  `), ''].join('\n');
}

/**
 * writeResults writes `<stamp>-<mode>.json` and `.md` under `dir` (`<stamp>-<mode>-<sections>` for
 * a run of some sections only) and returns their paths.
 */
export function writeResults(report: BenchReport, dir: string, only?: readonly string[]): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const base = join(dir, `${stamp}-${report.mode}${only === undefined ? '' : `-${only.join('+')}`}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMarkdown(report));
  return [`${base}.json`, `${base}.md`];
}
