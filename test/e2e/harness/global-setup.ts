import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureKubernetesBinaries } from '../../harness/binaries.ts';
import { buildImages, existingImages, imageTarballs, LOCAL_IMAGES, startKind, type E2eImages, type KindCluster } from './cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eKubeconfig: string;
    e2eBinDir: string;
    e2eHome: string;
    e2eImages: E2eImages;
    e2eCluster: 'kind' | 'existing';
  }
}

function elapsed(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}

/**
 * Builds the images and the kind cluster once for the e2e tier (or takes an existing cluster) and
 * removes the cluster at the end, also on Ctrl-C. Each stage's duration is printed.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const mode = process.env.E2E_CLUSTER ?? 'kind';
  if (mode !== 'kind' && mode !== 'existing') throw new Error(`E2E_CLUSTER must be kind or existing, not ${mode}`);
  const binaries = await ensureKubernetesBinaries();
  project.provide('e2eBinDir', binaries.dir);
  project.provide('e2eHome', await mkdtemp(join(tmpdir(), 'aio-e2e-home-')));
  project.provide('e2eCluster', mode);
  if (mode === 'existing') {
    const kubeconfig = process.env.KUBECONFIG;
    if (kubeconfig === undefined || kubeconfig === '') throw new Error('E2E_CLUSTER=existing needs KUBECONFIG');
    project.provide('e2eKubeconfig', kubeconfig);
    project.provide('e2eImages', existingImages(process.env));
    return undefined;
  }
  let start = performance.now();
  await buildImages();
  console.error(`[e2e] images built in ${elapsed(start)}`);
  start = performance.now();
  const cluster: KindCluster = await startKind();
  const stopOnSignal = (signal: NodeJS.Signals): void => {
    console.error(`[e2e] ${signal}: removing the kind cluster`);
    cluster.downNow();
    process.exit(130);
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    await cluster.load(imageTarballs());
  } catch (error) {
    await cluster.down();
    throw error;
  }
  console.error(`[e2e] kind cluster up with the images loaded in ${elapsed(start)}`);
  project.provide('e2eKubeconfig', cluster.kubeconfigPath);
  project.provide('e2eImages', LOCAL_IMAGES);
  return async () => {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    if (process.env.E2E_KEEP_CLUSTER === '1') {
      cluster.keep();
      console.error(`[e2e] E2E_KEEP_CLUSTER=1: the cluster stays up (KUBECONFIG=${cluster.kubeconfigPath}); hack/kind.sh down removes it`);
      return;
    }
    await cluster.down();
  };
}
