import type { Footprint, LimitsCost, OperatorScale, OverheadRow, Scenario, Target, ContenderId } from './results.ts';

/** The goals, each judged against baselines measured in the same run. */

const PROXY_MODES: readonly ContenderId[] = ['proxy-plain', 'proxy-encrypting', 'proxy-passthrough'];

function row(rows: readonly OverheadRow[], scenario: Scenario, concurrency: number, contender: ContenderId): OverheadRow | undefined {
  return rows.find((r) => r.scenario === scenario && r.concurrency === concurrency && r.contender === contender && r.note === undefined);
}

/** Goal is a limit in a unit; `atLeast` goals are floors, the others ceilings. */
interface Goal {
  readonly limit: number;
  readonly unit: string;
  readonly atLeast?: boolean;
}

function judge(name: string, goal: string, value: number | undefined, { limit, unit, atLeast = false }: Goal): Target {
  const atMost = !atLeast;
  if (value === undefined || !Number.isFinite(value)) return { name, goal, measured: '—', verdict: 'not measured' };
  const met = atMost ? value <= limit : value >= limit;
  return { name, goal, measured: `${value.toFixed(unit === 'µs' || unit === 'ms' ? 3 : Number.isInteger(value) ? 0 : 2)} ${unit}`.trim(), verdict: met ? 'met' : 'not met' };
}

/** worst picks the largest value of `field` over our proxy's modes, naming the mode. */
function worst(rows: readonly OverheadRow[], field: (r: OverheadRow) => number | undefined): { value: number | undefined; mode: string } {
  let best: { value: number | undefined; mode: string } = { value: undefined, mode: '' };
  for (const mode of PROXY_MODES) {
    const value = field(row(rows, 'stream', 1, mode) ?? ({} as OverheadRow));
    if (value !== undefined && (best.value === undefined || value > best.value)) best = { value, mode };
  }
  return best;
}

function litellmTarget(plain16: OverheadRow | undefined, litellm16: OverheadRow | undefined): Target {
  const name = 'plain forwarding throughput vs LiteLLM (1 KB, c=16)';
  if (litellm16?.note !== undefined) return { name, goal: '≥ 40×', measured: `LiteLLM ${litellm16.note}`, verdict: 'not measured' };
  const ratio = plain16?.rps !== undefined && litellm16?.rps !== undefined ? plain16.rps / litellm16.rps : undefined;
  return judge(name, '≥ 40×', ratio, { limit: 40, unit: '×', atLeast: true });
}

function overheadTargets(rows: readonly OverheadRow[]): Target[] {
  const plain1 = row(rows, '1KB', 1, 'proxy-plain');
  const plain16 = row(rows, '1KB', 16, 'proxy-plain');
  const nginx16 = row(rows, '1KB', 16, 'nginx');
  const enc1 = row(rows, '1KB', 1, 'proxy-encrypting');
  const ttft = worst(rows, (r) => r.addedTtfbP99Ms);
  const chunk = worst(rows, (r) => r.perChunkUs);
  const ratio = plain16?.rps !== undefined && nginx16?.rps !== undefined ? plain16.rps / nginx16.rps : undefined;
  const nginxNote = rows.find((r) => r.scenario === '1KB' && r.concurrency === 16 && r.contender === 'nginx')?.note;
  const litellm16 = rows.find((r) => r.scenario === '1KB' && r.concurrency === 16 && r.contender === 'litellm');
  return [
    judge('plain forwarding, added p50 (1 KB, c=1)', '≤ 0.100 ms', plain1?.addedP50Ms, { limit: 0.1, unit: 'ms' }),
    nginxNote !== undefined
      ? { name: 'plain forwarding throughput vs nginx (1 KB, c=16)', goal: '≥ 0.5×', measured: `nginx ${nginxNote}`, verdict: 'not measured' }
      : judge('plain forwarding throughput vs nginx (1 KB, c=16)', '≥ 0.5×', ratio, { limit: 0.5, unit: '×', atLeast: true }),
    litellmTarget(plain16, litellm16),
    judge('EHBP encrypting, added p50 (1 KB, c=1)', '≤ 1 ms', enc1?.addedP50Ms, { limit: 1, unit: 'ms' }),
    judge('EHBP encrypting, added p99 (1 KB, c=1)', '≤ 5 ms', enc1?.addedP99Ms, { limit: 5, unit: 'ms' }),
    judge(`stream added TTFT p99 (c=1, worst mode: ${ttft.mode || '—'})`, '≤ 2 ms', ttft.value, { limit: 2, unit: 'ms' }),
    judge(`stream per-chunk overhead (c=1, worst mode: ${chunk.mode || '—'})`, '≤ 50 µs', chunk.value, { limit: 50, unit: 'µs' }),
  ];
}

function footprintTargets(f: Footprint | undefined): Target[] {
  return [
    judge('RSS idle', '≤ 64 MiB', f?.idleRssMiB, { limit: 64, unit: 'MiB' }),
    judge(`RSS with ${f?.openStreams ?? 100} open streams`, '≤ 128 MiB', f?.openStreamsReached === f?.openStreams ? f?.openStreamsRssMiB : undefined, { limit: 128, unit: 'MiB' }),
    judge('start to /readyz 200', '≤ 500 ms', f?.readyMs, { limit: 500, unit: 'ms' }),
    judge('image size (largest of the images)', '≤ 150 MB', f?.images === undefined || f.images.length === 0 ? undefined : Math.max(...f.images.map((i) => i.megabytes)), { limit: 150, unit: 'MB' }),
  ];
}

function scaleTargets(s: OperatorScale | undefined): Target[] {
  const n = s?.endpoints ?? 1000;
  return [
    judge('operator: new endpoint to Deployment, p99', '≤ 1 s', s?.toDeploymentP99Ms === undefined ? undefined : s.toDeploymentP99Ms / 1000, { limit: 1, unit: 's' }),
    judge(`operator: ${n} endpoints Ready${n === 1000 ? '' : ' (goal set for 1,000)'}`, '≤ 60 s', s?.allReadyS, { limit: 60, unit: 's' }),
    judge(`operator: peak RSS with ${n} endpoints`, '≤ 150 MiB', s?.peakRssMiB, { limit: 150, unit: 'MiB' }),
    judge(`operator: writes in ${s?.steady?.seconds ?? 30} s of steady state (leader lease aside)`, '0', s?.steady?.writes, { limit: 0, unit: '' }),
  ];
}

/** targetsOf judges every goal; a goal without its numbers is "not measured". */
export function targetsOf(rows: readonly OverheadRow[], footprint: Footprint | undefined, more: { limits?: LimitsCost; scale?: OperatorScale } = {}): Target[] {
  return [
    ...overheadTargets(rows),
    ...footprintTargets(footprint),
    judge('shared limits check added by Redis, p50 (loopback)', '≤ 200 µs', more.limits?.addedP50Us, { limit: 200, unit: 'µs' }),
    judge('reservation added by Redis, p50 (loopback)', '≤ 200 µs', more.limits?.redis.reserveP50Us, { limit: 200, unit: 'µs' }),
    ...scaleTargets(more.scale),
  ];
}
