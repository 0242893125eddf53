import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, startUpstream, type ProxyKind, type Upstream } from './children.ts';
import type { Cleanup } from './cleanup.ts';
import { summarise } from './cpuprofile-top.ts';
import { runLoad } from './load.ts';
import { measureModules } from './module-memory.ts';
import { chatBody, plainRequest, streamBody } from './payloads.ts';
import { runStreams } from './stream-client.ts';

/**
 * `npm run bench -- --profile [--quick]`: the proxy under `node --cpu-prof` while it forwards 1 KB
 * chat requests one at a time (the case whose added latency misses its target), once as a plain
 * forwarder and once encrypting with EHBP, then 200-event streams through the plain forwarder,
 * plus a profile of start-up alone, and the memory each module costs. Profiles go to
 * bench/results/*.cpuprofile (git-ignored); open them in Chrome DevTools or summarise them with
 * bench/cpuprofile-top.ts.
 */

/** ProfileRun is one profiled proxy: its kind, and how many requests (or 200-event streams) it forwards (0: start-up only). */
interface ProfileRun {
  readonly name: string;
  readonly kind: ProxyKind;
  readonly requests: number;
  readonly streams?: boolean;
}

/** load sends the run's requests one at a time after a warm-up, as chat requests or as streams. */
async function load(run: ProfileRun, url: string): Promise<void> {
  if (run.streams === true) {
    const requests = (count: number): ReturnType<typeof plainRequest>[] => Array.from({ length: count }, () => plainRequest(streamBody()));
    await runStreams({ url, concurrency: 1, requests: requests(20), timeoutMs: 60_000 });
    const r = await runStreams({ url, concurrency: 1, requests: requests(run.requests), timeoutMs: 120_000 });
    if (r.errors > 0) throw new Error(`${run.name}: ${r.errors} streams failed`);
    return;
  }
  const request = [plainRequest(chatBody(1024))];
  await runLoad({ url, connections: 1, amount: 200, requests: request, timeoutMs: 60_000 });
  const r = await runLoad({ url, connections: 1, amount: run.requests, requests: request, timeoutMs: 120_000 });
  if (r.errors > 0) throw new Error(`${run.name}: ${r.errors} requests failed`);
}

async function profileOne(run: ProfileRun, p: { upstream: Upstream; dir: string; resultsDir: string; stamp: string }): Promise<string> {
  const file = `${p.stamp}-${run.name}.cpuprofile`;
  const proxy = await startProxy(run.kind, p.upstream, p.dir, ['--cpu-prof', `--cpu-prof-dir=${p.resultsDir}`, `--cpu-prof-name=${file}`]);
  const startUpMs = proxy.attestedMs ?? proxy.readyMs;
  try {
    if (run.requests > 0) await load(run, proxy.apiUrl);
  } finally {
    await proxy.stop();
  }
  // Under load, start-up (and the warm-up's first second) is left out of the tables.
  const fromMs = run.requests > 0 ? startUpMs + 1_000 : undefined;
  return summarise(join(p.resultsDir, file), { count: 15, ...(fromMs === undefined ? {} : { fromMs }) });
}

function memoryTable(rows: Awaited<ReturnType<typeof measureModules>>): string {
  const lines = rows.map((r) => (r.error !== undefined
    ? `  ${r.module}: failed (${r.error})`
    : `  ${r.rssMiB.toFixed(1).padStart(7)} MiB RSS ${r.heapUsedMiB.toFixed(1).padStart(6)} MiB heap  ${r.module}`));
  const base = rows.find((r) => r.error === undefined)?.baseRssMiB;
  return [`Memory per module (import alone in a fresh process; bare Node: ${base?.toFixed(1) ?? '—'} MiB RSS):`, ...lines].join('\n');
}

/** runProfiles writes the profiles under `resultsDir` and returns the printed summary. */
export async function runProfiles(p: { upstream: Upstream; dir: string; resultsDir: string; quick: boolean; log: (l: string) => void }): Promise<string> {
  mkdirSync(p.resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const requests = p.quick ? 3_000 : 20_000;
  const runs: ProfileRun[] = [
    { name: 'proxy-startup', kind: 'tinfoil', requests: 0 },
    { name: 'proxy-plain-1KB', kind: 'plain', requests },
    { name: 'proxy-encrypting-1KB', kind: 'tinfoil', requests },
    { name: 'proxy-plain-stream', kind: 'plain', requests: p.quick ? 2_000 : 10_000, streams: true },
  ];
  const parts: string[] = [];
  for (const run of runs) {
    p.log(`profiling ${run.name}…`);
    parts.push(await profileOne(run, { ...p, stamp }));
  }
  p.log('measuring memory per module…');
  parts.push(memoryTable(await measureModules()));
  return parts.join('\n\n');
}

/** profileMode is `--profile`: its own upstream and working folder, stopped through `cleanup`. */
export async function profileMode(p: { resultsDir: string; quick: boolean; cleanup: Cleanup; log: (l: string) => void }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'aio-profile-'));
  p.cleanup.add(() => rm(dir, { recursive: true, force: true }));
  const upstream = await startUpstream(dir);
  p.cleanup.add(() => upstream.stop());
  return runProfiles({ ...p, upstream, dir });
}
