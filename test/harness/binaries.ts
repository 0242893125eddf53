import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from './commands.ts';

const SCRIPT = fileURLToPath(new URL('../../hack/k8s-binaries.sh', import.meta.url));

/** KubernetesBinaries are absolute paths to the pinned tools the harness runs. */
export interface KubernetesBinaries {
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
  readonly helm: string;
}

function pathsIn(dir: string): KubernetesBinaries {
  return {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    kubectl: join(dir, 'kubectl'),
    kwok: join(dir, 'kwok'),
    helm: join(dir, 'helm'),
  };
}

let cached: Promise<KubernetesBinaries> | undefined;

/**
 * ensureKubernetesBinaries returns the cached binaries, building the missing ones first
 * (hack/k8s-binaries.sh prints its progress on stderr, which is passed through).
 */
export function ensureKubernetesBinaries(): Promise<KubernetesBinaries> {
  cached ??= runScript(SCRIPT).then(async (out) => {
    const dir = out.split('\n').pop() ?? '';
    const bins = pathsIn(dir);
    for (const path of Object.values(bins) as string[]) await access(path);
    return bins;
  });
  return cached;
}
