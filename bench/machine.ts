import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { LITELLM_VERSION, litellmExecutable } from './litellm.ts';
import { nginxVersion } from './nginx.ts';
import type { Machine } from './results.ts';

/** kubernetesVersion is the kubectl client's version: no cluster takes part in this cut. */
function kubernetesVersion(): string {
  const result = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error !== undefined || result.status !== 0) return 'not found (kubectl missing)';
  try {
    const parsed = JSON.parse(result.stdout) as { clientVersion?: { gitVersion?: string } };
    return `${parsed.clientVersion?.gitVersion ?? 'unknown'} (kubectl client)`;
  } catch {
    return 'unknown';
  }
}

/** describeMachine records where the numbers come from. */
export function describeMachine(): Machine {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.versions.node,
    kubernetes: kubernetesVersion(),
    nginx: nginxVersion() ?? 'not installed',
    litellm: litellmExecutable() === undefined ? 'not installed' : LITELLM_VERSION,
    platform: `${platform()} ${release()}`,
    loadAverage: loadavg(),
  };
}
