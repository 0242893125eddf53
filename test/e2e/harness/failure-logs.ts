import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runHack } from './cluster.ts';
import type { E2e } from './kube.ts';

/**
 * collectLogs keeps what explains a failed scenario in `dir`: the cluster's own logs
 * (`kind export logs`, on kind), every event, the operator's and proxies' logs, and the state of
 * endpoints, pods and deployments. Each part is best effort: a broken cluster still leaves the rest.
 */
export async function collectLogs(k: E2e, dir: string, kind: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  const save = async (file: string, args: readonly string[]): Promise<void> => {
    const result = await k.kubectl(args);
    await writeFile(join(dir, file), result.stdout + (result.stderr === '' ? '' : `\n--- stderr\n${result.stderr}`));
  };
  await Promise.all([
    save('events.txt', ['get', 'events', '-A', '--sort-by=.lastTimestamp']),
    save('objects.yaml', ['get', 'inferenceendpoints,deployments,replicasets,pods,services,leases', '-A', '-o', 'yaml']),
  ]);
  // Every container of every pod outside kube-system (operator, proxies, sidecars, simulator,
  // clients), current and previous run, one file per pod.
  const pods = await k.kubectl(['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}']);
  for (const ref of pods.stdout.split('\n').filter((p) => p !== '' && !p.startsWith('kube-system/'))) {
    const [namespace = '', name = ''] = ref.split('/');
    await save(`pod-${namespace}-${name}.log`, ['-n', namespace, 'logs', name, '--all-containers', '--prefix', '--timestamps']);
    const previous = await k.kubectl(['-n', namespace, 'logs', name, '--all-containers', '--prefix', '--previous']);
    if (previous.code === 0 && previous.stdout !== '') await writeFile(join(dir, `pod-${namespace}-${name}.previous.log`), previous.stdout);
  }
  if (kind) await runHack('hack/kind.sh', ['logs', join(dir, 'kind')]).catch(() => undefined);
}
