// Summarises a V8 .cpuprofile (written by `node --cpu-prof`): the functions with the most self
// time, and self time by package. Used by `npm run bench -- --profile`, and on its own:
//   bash hack/node.sh bench/cpuprofile-top.ts FILE.cpuprofile [COUNT] [FROM_MS]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

/** CpuProfile is the part of the .cpuprofile format (Chrome DevTools protocol, Profiler.Profile) read here. */
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** SelfTime is one function's or package's share of the samples. */
export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** packageOf names where code lives: an npm package, Node's internals, V8's pseudo-frames, or our own folders. */
function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1]!;
  const path = url.replace(/^file:\/\//, '').replace(REPO, '');
  return path.split('/').slice(0, 2).join('/');
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === '' ? '' : ` ${url.replace(/^file:\/\//, '').replace(REPO, '').replace(/^.*node_modules\//, '')}:${lineNumber + 1}`;
  return `${functionName === '' ? '(anonymous)' : functionName}${where}`;
}

/** selfTimes adds each sample's interval to its leaf frame, grouped by `key`, skipping the first `fromMs`. */
function selfTimes(profile: CpuProfile, key: (node: ProfileNode) => string, fromMs = 0): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  let clockUs = 0;
  profile.samples.forEach((id, i) => {
    clockUs += profile.timeDeltas[i] ?? 0;
    if (clockUs < fromMs * 1000) return;
    // timeDeltas[i] is the time before sample i; the interval after it is the next delta.
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const name = key(byId.get(id)!);
    totals.set(name, (totals.get(name) ?? 0) + us);
    all += us;
  });
  return [...totals].map(([name, us]) => ({ name, ms: us / 1000, percent: all === 0 ? 0 : (us / all) * 100 })).sort((a, b) => b.ms - a.ms);
}

/** SummaryOptions: how many functions to list, and how much of the profile's start to leave out. */
export interface SummaryOptions {
  readonly count?: number;
  /** fromMs skips the samples of the first milliseconds (start-up, when only the load matters). */
  readonly fromMs?: number;
}

/** topFunctions is the `count` functions with the most self time. */
export function topFunctions(profile: CpuProfile, { count = 15, fromMs = 0 }: SummaryOptions = {}): SelfTime[] {
  return selfTimes(profile, frameName, fromMs).slice(0, count);
}

/** byPackage is self time grouped by npm package, Node internals or our own folder. */
export function byPackage(profile: CpuProfile, fromMs = 0): SelfTime[] {
  return selfTimes(profile, (n) => packageOf(n.callFrame.url, n.callFrame.functionName), fromMs);
}

/** summarise renders both tables of one profile file as text. */
export function summarise(file: string, options: SummaryOptions = {}): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const line = (t: SelfTime): string => `${t.ms.toFixed(1).padStart(9)} ms ${t.percent.toFixed(1).padStart(5)}%  ${t.name}`;
  const from = options.fromMs === undefined ? '' : ` (from ${options.fromMs.toFixed(0)} ms on)`;
  return [
    `${file}${from}`,
    `  top ${options.count ?? 15} functions by self time:`,
    ...topFunctions(profile, options).map((t) => `  ${line(t)}`),
    '  self time by package:',
    ...byPackage(profile, options.fromMs).slice(0, 12).map((t) => `  ${line(t)}`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, count, fromMs] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: bench/cpuprofile-top.ts FILE.cpuprofile [COUNT] [FROM_MS]\n');
    process.exit(2);
  }
  process.stdout.write(`${summarise(file, { count: count === undefined ? 15 : Number(count), fromMs: fromMs === undefined ? 0 : Number(fromMs) })}\n`);
}
