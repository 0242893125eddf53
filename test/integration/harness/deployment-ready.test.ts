import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api } from '@kubernetes/client-node';
import { createNamespace, testCluster } from '../cluster.ts';
import { waitFor } from '../../harness/processes.ts';
import { KWOK_ANNOTATION } from '../../harness/fake-nodes.ts';

describe('a Deployment on simulated nodes', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let ns: Awaited<ReturnType<typeof createNamespace>>;

  beforeAll(async () => {
    ns = await createNamespace(cluster.core, 'deploy');
  });
  afterAll(async () => ns.remove());

  it('becomes a ReplicaSet whose Pods are scheduled and turn Ready', async () => {
    const labels = { app: 'proof' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'proof' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'app', image: 'example.invalid/proof:1', imagePullPolicy: 'Never' }] },
          },
        },
      },
    });
    await waitFor('3 ready replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'proof', namespace: ns.name });
      return d.status?.readyReplicas === 3;
    }, { timeoutMs: 60_000, intervalMs: 250 });

    const replicaSets = await apps.listNamespacedReplicaSet({ namespace: ns.name });
    expect(replicaSets.items).toHaveLength(1);
    expect(replicaSets.items[0]?.metadata?.ownerReferences?.[0]?.name).toBe('proof');

    const pods = await cluster.core.listNamespacedPod({ namespace: ns.name });
    expect(pods.items).toHaveLength(3);
    const nodes = await cluster.core.listNode();
    const simulated = new Set(nodes.items.filter((n) => n.metadata?.annotations?.[KWOK_ANNOTATION] === 'fake').map((n) => n.metadata?.name));
    for (const pod of pods.items) {
      expect(simulated.has(pod.spec?.nodeName)).toBe(true);
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });
});
