import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { installCrd } from './support.ts';

const SAMPLE = join(import.meta.dirname, '..', '..', '..', 'config', 'samples', 'inference_v1alpha1_inferenceendpoint_tinfoil.yaml');

describe('proxy image pull secrets, from the operator flag to the proxy Deployment on the API server', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let logDir: string;
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await installCrd(cluster);
    ns = await createNamespace(cluster.core, 'pull');
    system = await createNamespace(cluster.core, 'pull-system');
    logDir = await mkdtemp(join(tmpdir(), 'aio-pull-secrets-'));
  });
  afterAll(async () => {
    await operator?.stop();
    await ns.remove();
    await system.remove();
    await rm(logDir, { recursive: true, force: true });
  });

  it('names the Secrets in the pod template of every proxy the operator renders', async () => {
    operator = await startOperatorProcess({ kubeconfig: cluster.kubeconfigPath, logDir, leaseNamespace: system.name, extraArgs: ['--proxy-image-pull-secrets=registry-a,registry-b'] });
    const applied = await cluster.kubectl(['apply', '-n', ns.name, '-f', SAMPLE]);
    expect(applied.code, applied.stderr).toBe(0);
    let deployment: V1Deployment | undefined;
    await waitFor('the proxy Deployment', async () => {
      deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'tinfoil-proxy' }).catch(() => undefined);
      return deployment !== undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(deployment?.spec?.template.spec?.imagePullSecrets).toEqual([{ name: 'registry-a' }, { name: 'registry-b' }]);
  });
});
