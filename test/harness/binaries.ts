import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  cached ??= runScript().then(async (dir) => {
    const bins = pathsIn(dir);
    for (const path of Object.values(bins) as string[]) await access(path);
    return bins;
  });
  return cached;
}

function runScript(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(out.trim().split('\n').pop() ?? '');
      else reject(new Error(`hack/k8s-binaries.sh failed with exit code ${String(code)}`));
    });
  });
}
