import { describe, expect, it } from 'vitest';
import { testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, operatorContainer, parseObjects } from './chart.ts';

// Node.js sizes V8's heap from the machine's memory, not from the container's limit: uncapped, the
// heap grows past the limit and the kernel kills the operator instead of V8 collecting garbage.
describe("the chart caps the operator's V8 heap below its memory limit", () => {
  const cluster = testCluster();
  const nodeOptions = async (...sets: string[]): Promise<string | undefined> => {
    const objects = parseObjects(expectOk(await cluster.helm(['template', 'aio', CHART_DIR, '--namespace', 'aio-heap', ...sets.flatMap((s) => ['--set', s])]), 'helm template'));
    return (operatorContainer(objects).env as { name: string; value?: string }[]).find((e) => e.name === 'NODE_OPTIONS')?.value;
  };

  it('at three quarters of the default limit', async () => {
    expect(await nodeOptions()).toBe('--max-old-space-size=576');
  });
  it('follows the limit in binary and decimal units', async () => {
    expect(await nodeOptions('resources.limits.memory=2Gi')).toBe('--max-old-space-size=1536');
    expect(await nodeOptions('resources.limits.memory=1.5Gi')).toBe('--max-old-space-size=1152');
    expect(await nodeOptions('resources.limits.memory=512M')).toBe('--max-old-space-size=366');
  });
  it('sets nothing without a memory limit, leaving Node.js its own default', async () => {
    expect(await nodeOptions('resources.limits=null')).toBeUndefined();
  });
});
