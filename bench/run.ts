import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { measureAttestation } from './attestation-cost.ts';
import { Cleanup } from './cleanup.ts';
import { startProxy, startUpstream, type Upstream } from './children.ts';
import { measureFootprint } from './footprint.ts';
import { measureLimits } from './limits-cost.ts';
import { describeMachine } from './machine.ts';
import { startLiteLLM } from './litellm.ts';
import { startNginx } from './nginx.ts';
import type { BenchOptions, Section } from './options.ts';
import { measureOperatorScale } from './operator-scale.ts';
import { measureOverhead } from './overhead.ts';
import { completionText, createSealer } from './payloads.ts';
import type { AttestationCost, BenchReport, Footprint, OverheadRow } from './results.ts';
import { targetsOf } from './targets.ts';

/**
 * One benchmark run: start the upstream and the proxies, measure each section, and stop
 * everything it started, whatever happens. A failing section is recorded and the next one runs.
 */

const NOT_MEASURED: readonly string[] = [];

async function setCompletion(upstream: Upstream): Promise<void> {
  const response = await fetch(`${upstream.url}/control/completion`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: completionText() }) });
  if (!response.ok) throw new Error(`setting the completion text failed: HTTP ${response.status}`);
}

async function overheadSection(upstream: Upstream, dir: string, options: BenchOptions, log: (l: string) => void): Promise<OverheadRow[]> {
  const local = new Cleanup();
  try {
    const tinfoil = await startProxy('tinfoil', upstream, dir);
    local.add(() => tinfoil.stop());
    const plain = await startProxy('plain', upstream, dir);
    local.add(() => plain.stop());
    const nginx = await startNginx(dir, upstream.url);
    if (nginx !== undefined) local.add(() => nginx.stop());
    const litellm = await startLiteLLM(dir, upstream.url);
    if ('running' in litellm) local.add(() => litellm.running.stop());
    else log(`LiteLLM skipped: ${litellm.skipped}`);
    const sealer = createSealer(upstream.hpkePublicKey);
    return await measureOverhead({ options, upstream, tinfoil, plain, nginx, litellm, sealer, log });
  } finally {
    await local.run();
  }
}

async function section<T>(name: string, failures: string[], log: (l: string) => void, body: () => Promise<T>): Promise<T | undefined> {
  log(`${name}…`);
  try {
    return await body();
  } catch (error) {
    failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    log(`${name} failed: ${String(error)}`);
    return undefined;
  }
}

function errorCount(overhead: readonly OverheadRow[], footprint: Footprint | undefined, attestation: readonly AttestationCost[], failures: readonly string[]): number {
  return overhead.reduce((n, r) => n + (r.errors ?? 0), 0) + (footprint?.errors ?? 0) + attestation.reduce((n, a) => n + a.errors, 0) + failures.length;
}

/** runBench measures everything and returns the report; `cleanup` stops what is still running. */
export async function runBench(options: BenchOptions, cleanup: Cleanup, log: (l: string) => void): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = describeMachine();
  const dir = mkdtempSync(join(tmpdir(), 'aio-bench-'));
  const failures: string[] = [];
  log(`working directory (logs): ${dir}`);
  const upstream = await startUpstream(dir);
  cleanup.add(() => upstream.stop());
  await setCompletion(upstream);
  const on = (s: Section): boolean => options.sections.includes(s);
  const overhead = (on('overhead') ? await section('proxy overhead', failures, log, () => overheadSection(upstream, dir, options, log)) : undefined) ?? [];
  const footprint = on('footprint') ? await section('sidecar footprint', failures, log, () => measureFootprint(upstream, dir, options)) : undefined;
  const attestation = (on('attestation') ? await section('attestation cost', failures, log, () => measureAttestation(options.attestationRuns)) : undefined) ?? [];
  const limits = on('limits') ? await section('shared limits check', failures, log, () => measureLimits(options.limitsRuns)) : undefined;
  const operatorScale = on('operator') ? await section('operator at scale', failures, log, () => measureOperatorScale(options.scale, dir, log)) : undefined;
  const errors = errorCount(overhead, footprint, attestation, failures) + (operatorScale?.errors ?? 0);
  // Logs are kept when something failed, for the post-mortem.
  if (errors === 0) cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return {
    startedAt, durationS: (performance.now() - t0) / 1000, mode: options.quick ? 'quick' : 'full', machine,
    overhead, footprint, attestation, ...(limits === undefined ? {} : { limits }), ...(operatorScale === undefined ? {} : { operatorScale }), targets: targetsOf(overhead, footprint, { limits, scale: operatorScale }), notMeasured: NOT_MEASURED, errors, failures,
  };
}
