import { basename, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Deployment } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../operator/api/v1alpha1/types.ts';
import { ANNOTATION_RELEASE_DIGEST } from '../operator/resources/names.ts';
import { diffCounts, isWrite, type RequestCounts } from './api-counter.ts';
import { Cleanup } from './cleanup.ts';
import type { BenchOptions } from './options.ts';
import { sampleProc } from './proc.ts';
import { histogramQuantile, parseSamples, sumOf } from './prom-text.ts';
import type { OperatorScale, ScaleRollout, ScaleSteady } from './results.ts';
import { CONTROLLERS_QPS, createEndpoint, endpointBody, namespaceNames, startScaleEnv, type ScaleEnv } from './scale-fixture.ts';
import { waitUntil } from './scale-watch.ts';
import { percentile } from './stats.ts';

/**
 * The operator at scale: N InferenceEndpoints over 50 namespaces on simulated nodes; how fast
 * Deployments appear and endpoints turn Ready, what the operator costs in memory, CPU and API
 * requests, what it writes once nothing changes, and how long a release switch takes to roll the
 * affected proxies. Every request of the operator's is counted by the pass-through in front of
 * the API server (bench/api-counter.ts).
 */

type Scale = BenchOptions['scale'];
const MIB = 1024 * 1024;
const CREATE_CONCURRENCY = 16;
const SETTLE_MS = 5_000;
const RECHECK_S = 10;

interface Planned {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly switching: boolean;
}

function plan(scale: Scale): Planned[] {
  const namespaces = namespaceNames(scale.namespaces);
  return Array.from({ length: scale.endpoints }, (_, i) => {
    const namespace = namespaces[i % namespaces.length]!;
    const name = `ep-${String(i).padStart(4, '0')}`;
    return { key: `${namespace}/${name}`, namespace, name, switching: i < scale.rolloutEndpoints };
  });
}

const isReady = (e: InferenceEndpoint): boolean => e.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const proxyKey = (p: Planned): string => `${p.namespace}/${p.name}-proxy`;
const sumWrites = (counts: RequestCounts, leases: boolean): number =>
  Object.entries(counts).filter(([k]) => isWrite(k) && k.endsWith(' leases') === leases).reduce((n, [, v]) => n + v, 0);

async function createAll(env: ScaleEnv, planned: readonly Planned[], sentAt: Map<string, number>): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < planned.length) {
      const p = planned[next++]!;
      sentAt.set(p.key, performance.now());
      await createEndpoint(env.kc, p.namespace, endpointBody(p.name, p.switching ? env.switching : env.steady)).catch(() => {
        failed += 1;
      });
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
  return failed;
}

async function reconcileStats(env: ScaleEnv): Promise<Pick<OperatorScale, 'reconciles' | 'reconcileP50Ms' | 'reconcileP99Ms'>> {
  const samples = parseSamples(await (await fetch(`${env.operator.probeUrl}/metrics`)).text());
  const name = 'attested_inference_operator_reconcile_duration_seconds';
  const where = { controller: 'inferenceendpoint' };
  const ms = (s: number | undefined): number | undefined => (s === undefined ? undefined : s * 1000);
  return {
    reconciles: sumOf(samples, 'attested_inference_operator_reconcile_total', where),
    reconcileP50Ms: ms(histogramQuantile(samples, name, 0.5, where)),
    reconcileP99Ms: ms(histogramQuantile(samples, name, 0.99, where)),
  };
}

type CreationResult = Omit<OperatorScale, 'kubernetes' | 'namespaces' | 'nodes' | 'controlPlaneStartS' | 'steady' | 'rollout' | 'notes'>;

async function creationPhase(env: ScaleEnv, planned: readonly Planned[], scale: Scale): Promise<CreationResult> {
  const sentAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  env.endpoints.onChange((key, e, at) => {
    if (!readyAt.has(key) && isReady(e)) readyAt.set(key, at);
  });
  const before = env.counter.counts();
  const { cpuSeconds: cpu0, rssBytes: idleRss } = sampleProc(env.operatorPid);
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, sampleProc(env.operatorPid).rssBytes);
  }, 250);
  const t0 = performance.now();
  const failed = await createAll(env, planned, sentAt);
  const createS = (performance.now() - t0) / 1000;
  await waitUntil(() => readyAt.size >= planned.length - failed, scale.readyTimeoutS * 1000);
  clearInterval(sampler);
  const now = sampleProc(env.operatorPid);
  const requests = diffCounts(env.counter.counts(), before);
  const toDeployment = planned.flatMap((p) => {
    const seen = env.deployments.firstSeen.get(proxyKey(p));
    const sent = sentAt.get(p.key);
    return seen === undefined || sent === undefined ? [] : [seen - sent];
  });
  const n = planned.length;
  return {
    endpoints: n, createS, ready: readyAt.size,
    allReadyS: readyAt.size === n ? (Math.max(...readyAt.values()) - t0) / 1000 : undefined,
    toDeploymentP50Ms: toDeployment.length > 0 ? percentile(toDeployment, 50) : undefined,
    toDeploymentP99Ms: toDeployment.length > 0 ? percentile(toDeployment, 99) : undefined,
    toDeploymentMaxMs: toDeployment.length > 0 ? Math.max(...toDeployment) : undefined,
    idleRssMiB: idleRss / MIB, peakRssMiB: Math.max(peakRss, now.rssBytes) / MIB, readyRssMiB: now.rssBytes / MIB, createCpuSeconds: now.cpuSeconds - cpu0,
    requestsPerEndpoint: Object.values(requests).reduce((a, b) => a + b, 0) / n,
    writesPerEndpoint: (sumWrites(requests, false) + sumWrites(requests, true)) / n,
    requests, ...(await reconcileStats(env)), errors: failed + (n - readyAt.size),
  };
}

async function steadyPhase(env: ScaleEnv, seconds: number): Promise<ScaleSteady> {
  await sleep(SETTLE_MS);
  const before = env.counter.counts();
  const p0 = sampleProc(env.operatorPid);
  await sleep(seconds * 1000);
  const p1 = sampleProc(env.operatorPid);
  const delta = diffCounts(env.counter.counts(), before);
  const writesByRequest = Object.fromEntries(Object.entries(delta).filter(([k]) => isWrite(k) && !k.endsWith(' leases')));
  return { seconds, writes: sumWrites(delta, false), writesByRequest, leaseRenewals: sumWrites(delta, true), cpuSeconds: p1.cpuSeconds - p0.cpuSeconds, rssMiB: p1.rssBytes / MIB };
}

function rolledOut(d: V1Deployment, digest: string): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  return d.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST] === digest && (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1)
    && s?.updatedReplicas === want && s.readyReplicas === want && s.replicas === want;
}

async function rolloutPhase(env: ScaleEnv, affected: readonly string[], timeoutS: number): Promise<ScaleRollout> {
  const templateAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  const wanted = new Set(affected);
  const target: { digest?: string } = {};
  const check = (key: string, d: V1Deployment, at: number): void => {
    const digest = target.digest;
    if (digest === undefined || !wanted.has(key)) return;
    if (!templateAt.has(key) && d.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST] === digest) templateAt.set(key, at);
    if (!doneAt.has(key) && rolledOut(d, digest)) doneAt.set(key, at);
  };
  env.deployments.onChange(check);
  const t0 = performance.now();
  const answer = await fetch(`${env.switching.url}/control/release`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  if (!answer.ok) throw new Error(`switching the simulator's release failed: HTTP ${answer.status}`);
  target.digest = ((await answer.json()) as { release: { releaseDigest: string } }).release.releaseDigest;
  // Anything that changed before the answer was read is judged from the latest copies.
  for (const key of affected) {
    const d = env.deployments.latest.get(key);
    if (d !== undefined) check(key, d, performance.now());
  }
  await waitUntil(() => doneAt.size >= affected.length, timeoutS * 1000);
  const since = (m: Map<string, number>): number[] => [...m.values()].map((at) => (at - t0) / 1000);
  const template = since(templateAt);
  return {
    endpoints: affected.length, completed: doneAt.size, recheckIntervalS: RECHECK_S,
    templateP50S: template.length > 0 ? percentile(template, 50) : undefined,
    templateP99S: template.length > 0 ? percentile(template, 99) : undefined,
    allDoneS: doneAt.size === affected.length ? Math.max(...since(doneAt)) : undefined,
  };
}

/** measureOperatorScale starts its own control plane and stops everything before returning. */
export async function measureOperatorScale(scale: Scale, dir: string, log: (l: string) => void): Promise<OperatorScale> {
  const cleanup = new Cleanup();
  const planned = plan(scale);
  try {
    const env = await startScaleEnv({ endpoints: scale.endpoints, namespaces: namespaceNames(scale.namespaces), dir, cleanup, log });
    log(`  control plane up in ${(env.controlPlane.startupMs / 1000).toFixed(1)} s; creating ${scale.endpoints} endpoints`);
    const created = await creationPhase(env, planned, scale);
    log(`  ${created.ready}/${scale.endpoints} Ready in ${created.allReadyS?.toFixed(1) ?? '—'} s; steady state for ${scale.steadySeconds} s`);
    const steady = await steadyPhase(env, scale.steadySeconds);
    log(`  steady: ${steady.writes} writes; switching the release of ${scale.rolloutEndpoints} endpoints' upstream`);
    const rollout = await rolloutPhase(env, planned.filter((p) => p.switching).map(proxyKey), RECHECK_S + scale.readyTimeoutS);
    return {
      ...created, kubernetes: basename(dirname(env.controlPlane.binaries.dir)), namespaces: scale.namespaces, nodes: env.controlPlane.nodeNames.length, controlPlaneStartS: env.controlPlane.startupMs / 1000, steady, rollout,
      errors: created.errors + (rollout.endpoints - rollout.completed),
      notes: [`simulated nodes (kwok) run no containers; controller-manager and scheduler clients at ${CONTROLLERS_QPS} requests/s (defaults 20 and 50); ${scale.rolloutEndpoints} endpoints use the simulator whose release switches, recheck every ${RECHECK_S} s`],
    };
  } finally {
    await cleanup.run();
  }
}
