import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_RESOURCES } from '../../../operator/resources/container.ts';
import { testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, find, parseObjects, type Rendered } from './chart.ts';

const NS = 'aio-sizing';

/** MiB reads a Kubernetes memory quantity in Mi or Gi as MiB. */
function mib(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (match === null) throw new Error(`not a Mi or Gi quantity: ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

/** MEASURED are the benchmark's figures docs/sizing.md explains, in MiB. */
const MEASURED = { proxyIdle: 140, proxyHundredStreams: 345, operatorFirst: 176, operatorThousand: 459 };

describe('the chart sizes and protects the operator', () => {
  const cluster = testCluster();
  const template = async (...sets: string[]): Promise<Rendered[]> =>
    parseObjects(expectOk(await cluster.helm(['template', 'attested-inference-operator', CHART_DIR, '--namespace', NS, ...sets.flatMap((s) => ['--set', s])]), 'helm template'));
  const refused = async (...sets: string[]): Promise<string> => {
    const result = await cluster.helm(['template', 'refused', CHART_DIR, '--namespace', NS, ...sets.flatMap((s) => ['--set', s])]);
    expect(result.code, sets.join(' ')).not.toBe(0);
    return result.stderr;
  };

  it('gives the operator a memory limit above its measured peak and a request above its idle use', async () => {
    const deployment = find(await template(), 'Deployment') as unknown as { spec: { template: { spec: { containers: { resources: { requests: { memory: string }; limits: { memory: string } } }[] } } } };
    const resources = deployment.spec.template.spec.containers[0]?.resources;
    expect(mib(resources?.limits.memory ?? '0Mi')).toBeGreaterThanOrEqual(Math.ceil(MEASURED.operatorThousand * 1.5));
    expect(mib(resources?.requests.memory ?? '0Mi')).toBeGreaterThan(MEASURED.operatorFirst);
  });

  it('gives the proxy a memory limit above its use with 100 streams and a request above its idle use', () => {
    expect(mib(DEFAULT_RESOURCES.limits.memory)).toBeGreaterThanOrEqual(Math.ceil(MEASURED.proxyHundredStreams * 1.4));
    expect(mib(DEFAULT_RESOURCES.requests.memory)).toBeGreaterThan(MEASURED.proxyIdle);
  });

  it('documents the defaults it renders', async () => {
    const doc = await readFile(join(CHART_DIR, '..', '..', 'docs', 'sizing.md'), 'utf8');
    const values = parse(await readFile(join(CHART_DIR, 'values.yaml'), 'utf8')) as { resources: { requests: { memory: string }; limits: { memory: string } } };
    for (const quantity of [values.resources.requests.memory, values.resources.limits.memory, DEFAULT_RESOURCES.requests.memory, DEFAULT_RESOURCES.limits.memory]) expect(doc).toContain(quantity);
  });

  it('lets a drain evict an operator pod that is not ready', async () => {
    expect(find(await template(), 'PodDisruptionBudget')).toMatchObject({ spec: { minAvailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' } });
  });

  it('refuses a PodDisruptionBudget with one operator replica, which would block every node drain', async () => {
    expect(await refused('replicaCount=1')).toContain('podDisruptionBudget.enabled: a budget for one operator replica blocks every node drain');
    expect(await refused('podDisruptionBudget.minAvailable=2')).toContain('podDisruptionBudget.minAvailable: 2 of 2 replicas allows no eviction');
    const single = await template('replicaCount=1', 'podDisruptionBudget.enabled=false');
    expect(single.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
  });

  it('refuses more than one replica without leader election', async () => {
    expect(await refused('leaderElection.enabled=false')).toContain('replicaCount: 2 replicas need leaderElection.enabled: true');
    const alone = await template('replicaCount=1', 'podDisruptionBudget.enabled=false', 'leaderElection.enabled=false');
    expect(find(alone, 'Deployment')).toMatchObject({ spec: { replicas: 1 } });
  });
});
