import { AppsV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, reconcileUntilDeployed, recordingPort, waitForRollout, RECONCILER_OPTIONS } from './support.ts';

/**
 * Provider privatemode on the real API server (pods on simulated nodes): the operator renders
 * privatemode-proxy beside the proxy, reports the attestation as delegated, and refuses the
 * endpoint when it has no privatemode-proxy image to run.
 */

const PINNED = `ghcr.io/edgelesssys/privatemode/privatemode-proxy@sha256:${'c'.repeat(64)}`;
const SPEC = { provider: 'privatemode', apiKeySecretRef: { name: 'privatemode-api-key', key: 'apiKey' }, replicas: 1 };

describe('a privatemode endpoint on the real API server', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  const watcher = new AttestationWatcher({ allowDevelopmentTrust: false, onUpdate: () => undefined });
  const reconcilerWith = (privatemodeProxyImage?: string): EndpointReconciler => new EndpointReconciler({
    port: recordingPort(cluster),
    watcher,
    now: () => new Date(),
    options: { ...RECONCILER_OPTIONS, image: { ...RECONCILER_OPTIONS.image, ...(privatemodeProxyImage ? { privatemodeProxyImage } : {}) } },
  });

  beforeAll(async () => {
    await installCrd(cluster);
    ns = await createNamespace(cluster.core, 'privatemode');
    await cluster.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'privatemode-api-key' }, stringData: { apiKey: 'pm-test-key' } } });
  });
  afterAll(async () => {
    watcher.stop();
    await ns.remove();
  });

  it('runs privatemode-proxy beside the proxy, the key mounted into it alone, and says Attested Delegated', async () => {
    const reconciler = reconcilerWith(PINNED);
    await createEndpoint(cluster, ns.name, 'pm', SPEC);
    await reconcileUntilDeployed(cluster, reconciler, ns.name, 'pm');
    const deployment: V1Deployment = await waitForRollout(cluster, ns.name, 'pm-proxy', 1);
    const pod = deployment.spec!.template.spec!;
    expect(pod.initContainers?.map((c) => [c.name, c.image, c.restartPolicy])).toEqual([['privatemode-proxy', PINNED, 'Always']]);
    const keyVolume = pod.volumes!.find((v) => v.secret?.secretName === 'privatemode-api-key')!.name;
    expect(pod.initContainers![0]!.volumeMounts!.map((m) => m.name)).toContain(keyVolume);
    expect(pod.containers.flatMap((c) => c.volumeMounts ?? []).map((m) => m.name)).not.toContain(keyVolume);
    await waitFor('the status to say Attested Delegated', async () => {
      await reconciler.reconcile(`${ns.name}/pm`);
      const endpoint = await readEndpoint(cluster, ns.name, 'pm');
      const attested = condition(endpoint, 'Attested');
      if (attested?.reason !== 'Delegated') throw new Error(`Attested is ${JSON.stringify(attested)}`);
      expect(attested.status).toBe('True');
      expect(endpoint.status?.attestation?.trust).toBe('Delegated');
      return true;
    }, { timeoutMs: 30_000, intervalMs: 250 });
  });

  it('runs nothing for it, and says which operator setting is missing, without a privatemode-proxy image', async () => {
    await createEndpoint(cluster, ns.name, 'pm-unset', SPEC);
    await reconcilerWith(undefined).reconcile(`${ns.name}/pm-unset`);
    const endpoint = await readEndpoint(cluster, ns.name, 'pm-unset');
    expect(condition(endpoint, 'Degraded')).toMatchObject({ status: 'True', reason: 'PolicyViolation', message: expect.stringContaining('--privatemode-proxy-image') as unknown });
    await expect(apps.readNamespacedDeployment({ namespace: ns.name, name: 'pm-unset-proxy' })).rejects.toMatchObject({ code: 404 });
  });
});
