import { describe, expect, it } from 'vitest';
import { endpointManifest, getEndpoint, namespaceWithKey, proxySelector } from '../harness/endpoints.ts';
import { eventually, podsOf, type E2e } from '../harness/kube.ts';
import { clientChat, deployClient } from '../harness/world.ts';
import type { World } from '../harness/world-state.ts';

// docs/adr/0014: Available is True only once the current template is rolled out and ready, the
// upstream is attested and the Service's EndpointSlices list a ready address per desired pod.
// Attack: `kubectl wait --for=condition=Ready` returned while the new Service had no ready
// address yet or every request was still a 503, so the client's first call failed.

const NS = 'aio-e2e-available';
const ROUNDS = 20;

/** waitAvailable is what the docs tell users to run: kubectl wait for Available. */
async function waitAvailable(k: E2e, name: string): Promise<void> {
  await k.run(['-n', NS, 'wait', '--for=condition=Available', `inferenceendpoint/${name}`, '--timeout=240s']);
}

/** removeEndpoint deletes an endpoint and waits until its Service and its pods are gone, so the next round starts fresh. */
async function removeEndpoint(k: E2e, name: string): Promise<void> {
  await k.run(['-n', NS, 'delete', 'inferenceendpoint', name, '--wait=true', '--timeout=120s']);
  await eventually(`the Service ${name} to be collected`, async () => ((await k.kubectl(['-n', NS, 'get', 'service', name])).code !== 0 ? true : undefined), { timeoutMs: 120_000 });
  // A terminating proxy pod keeps its CPU request until it is gone; the next round needs it back.
  await eventually(`the proxy pods of ${name} to be gone`, async () => ((await podsOf(k, NS, proxySelector(name))).length === 0 ? true : undefined), { timeoutMs: 180_000 });
}

/** Scenario: kubectl apply, kubectl wait for Available, and the very first call succeeds, 20 times over. */
export function availableScenario(world: World): void {
  describe('Available means a client can call now', () => {
    it(`answers the first call made right after kubectl wait --for=condition=Available, ${String(ROUNDS)} fresh endpoints in a row`, async () => {
      const { k } = world;
      await namespaceWithKey(k, NS, 'sk-e2e-available-key');
      await deployClient(k, NS);
      const failures: string[] = [];
      // One endpoint at a time: with two side by side, 3 of 20 first calls got a connection error
      // right after Available (the EndpointSlice listed the pod before the node's Service rules
      // caught up), and five did not fit kind's CPU.
      for (let round = 1; round <= ROUNDS; round += 1) {
        const name = `fresh-${String(round)}`;
        await k.apply([endpointManifest(name, NS, world.publicKeyPem)]);
        try {
          await waitAvailable(k, name);
          // No retry, no pause: the client's SDK runs with maxRetries 0 (test/e2e/images/client.ts).
          const answer = await clientChat(k, NS, `http://${name}.${NS}.svc/v1`);
          if (answer.error !== undefined || answer.content === undefined) failures.push(`round ${String(round)}: ${JSON.stringify(answer.error)}`);
          const endpoint = await getEndpoint(k, NS, name);
          const available = endpoint.status?.conditions?.find((c) => c.type === 'Available');
          expect(available).toMatchObject({ status: 'True', reason: 'Serving', observedGeneration: endpoint.metadata.generation });
        } finally {
          // Removed even when a round failed, so the scenarios after it get the node's CPU back.
          await removeEndpoint(k, name);
        }
      }
      expect(failures).toEqual([]);
    }, 60 * 60_000);

    it('is scaled by kubectl scale and by a HorizontalPodAutoscaler through the scale subresource', async () => {
      const { k } = world;
      const name = 'scaled';
      await k.apply([endpointManifest(name, NS, world.publicKeyPem)]);
      await waitAvailable(k, name);
      await k.run(['-n', NS, 'scale', `inferenceendpoint/${name}`, '--replicas=3']);
      await eventually('the proxy Deployment at 3 ready pods', async () => ((await k.json<{ status?: { readyReplicas?: number } }>(['-n', NS, 'get', 'deployment', `${name}-proxy`])).status?.readyReplicas === 3 ? true : undefined));
      await waitAvailable(k, name);
      // The HPA controller raises a target below minReplicas without any metric (kind runs no metrics-server).
      await k.apply([{
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name, namespace: NS },
        spec: { scaleTargetRef: { apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint', name }, minReplicas: 4, maxReplicas: 5, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
      }]);
      await eventually('the HPA to raise the endpoint to 4', async () => ((await getEndpoint(k, NS, name)).spec?.replicas === 4 ? true : undefined), { timeoutMs: 120_000 });
      await eventually('the proxy Deployment at 4 ready pods', async () => ((await k.json<{ status?: { readyReplicas?: number } }>(['-n', NS, 'get', 'deployment', `${name}-proxy`])).status?.readyReplicas === 4 ? true : undefined));
      await k.run(['-n', NS, 'delete', 'horizontalpodautoscaler', name]);
      await removeEndpoint(k, name);
    }, 10 * 60_000);
  });
}
