import { describe, expect, it } from 'vitest';
import { endpointManifest, getEndpoint, proxySelector, waitReady } from '../harness/endpoints.ts';
import { eventually, podsOf, type KubeObject } from '../harness/kube.ts';
import { clientChat, simulator, startLoop } from '../harness/world.ts';
import { APP_NS, CHAT, proxyDeployment, CHAT_URL, type World } from '../harness/world-state.ts';
import { CHAT_SELECTOR } from './endpoint.ts';

interface DeploymentObject extends KubeObject {
  readonly spec: { replicas: number; template: { metadata: { annotations?: Record<string, string> } } };
  readonly status: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number };
}

async function releaseDigest(world: World): Promise<string> {
  const state = await simulator<{ release: { releaseDigest: string } }>(world.k, 'GET', 'state');
  return state.release.releaseDigest;
}

/** rolledOut tells whether a Deployment finished rolling out its current template. */
function rolledOut(d: DeploymentObject): boolean {
  const s = d.status;
  return s.observedGeneration === d.metadata.generation && s.updatedReplicas === d.spec.replicas && s.replicas === d.spec.replicas && s.availableReplicas === d.spec.replicas;
}

/** Scenario 4: a release change rolls Follow endpoints without a failed request; Pin refuses it. */
export function attestationScenario(world: World): void {
  describe('4. attestation change', () => {
    it('Follow: rolls the proxy pods within the recheck interval, records both digests, and no streamed request fails', async () => {
      const { k } = world;
      const before = await getEndpoint(k, APP_NS, CHAT);
      const oldDigest = before.status?.attestation?.releaseDigest ?? '';
      expect(oldDigest).toBe(await releaseDigest(world));
      const oldPods = (await podsOf(k, APP_NS, CHAT_SELECTOR)).map((p) => p.metadata.uid);
      const loop = startLoop(k, APP_NS, CHAT_URL, 'follow');
      await new Promise((r) => setTimeout(r, 5_000));
      const switched = await simulator<{ release: { releaseDigest: string } }>(k, 'POST', 'release', {});
      const newDigest = switched.release.releaseDigest;
      expect(newDigest).not.toBe(oldDigest);
      const switchedAt = Date.now();
      const endpoint = await eventually('status to carry the new digest', async () => {
        const e = await getEndpoint(k, APP_NS, CHAT);
        return e.status?.attestation?.releaseDigest === newDigest ? e : undefined;
      }, { timeoutMs: 60_000 });
      // Recheck interval 10 s: noticed within it plus one reconcile.
      expect(Date.now() - switchedAt).toBeLessThan(30_000);
      expect(endpoint.status?.attestation?.lastRollout).toMatchObject({ reason: 'ReleaseChanged', fromDigest: oldDigest, toDigest: newDigest });
      const events = await k.json<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>(['-n', APP_NS, 'get', 'events', '--field-selector', `involvedObject.name=${CHAT},reason=ReleaseChanged`]);
      expect(events.items.some((e) => e.message.includes(oldDigest) && e.message.includes(newDigest))).toBe(true);
      await eventually('the proxy Deployment to roll out', async () => {
        const d = await k.json<DeploymentObject>(['-n', APP_NS, 'get', 'deployment', proxyDeployment(CHAT)]);
        const pods = await podsOf(k, APP_NS, CHAT_SELECTOR);
        const replaced = pods.length === 2 && pods.every((p) => !oldPods.includes(p.metadata.uid));
        return rolledOut(d) && replaced ? d : undefined;
      }, { timeoutMs: 180_000 });
      // Keep streaming a little on the new pods, then count.
      await new Promise((r) => setTimeout(r, 3_000));
      const result = await loop.stop();
      expect(result.failed, JSON.stringify(result.errors)).toBe(0);
      expect(result.ok).toBeGreaterThan(10);
    });

    it('Pin: does not roll, answers with the pinned-digest error, and the condition says why', async () => {
      const { k } = world;
      const pinned = await releaseDigest(world);
      await k.apply([endpointManifest('pinned', APP_NS, world.publicKeyPem, { policy: 'Pin', pinnedDigests: [pinned] })]);
      await waitReady(k, APP_NS, 'pinned');
      const selector = proxySelector('pinned');
      const pods = (await podsOf(k, APP_NS, selector)).map((p) => p.metadata.uid).sort();
      const url = `http://pinned.${APP_NS}.svc/v1`;
      // Ready says the pods are; the new Service's routing on the node may follow a moment later
      // (the openai SDK's default retries cover that; this client has them off).
      await eventually('the new endpoint to answer', async () => ((await clientChat(k, APP_NS, url)).error === undefined ? true : undefined), { timeoutMs: 20_000 });
      const next = (await simulator<{ release: { releaseDigest: string } }>(k, 'POST', 'release', {})).release.releaseDigest;
      const condition = await eventually('Attested=False with PinnedDigestMismatch', async () => {
        const e = await getEndpoint(k, APP_NS, 'pinned');
        const c = e.status?.conditions?.find((x) => x.type === 'Attested');
        return c?.reason === 'PinnedDigestMismatch' ? c : undefined;
      }, { timeoutMs: 60_000 });
      expect(condition.status).toBe('False');
      expect(condition.message).toContain(next);
      const refused = await eventually('the proxy to refuse the new release', async () => {
        const answer = await clientChat(k, APP_NS, url);
        return answer.error?.code === 'attestation_failed' ? answer : undefined;
      }, { timeoutMs: 60_000 });
      expect(refused.error?.status).toBe(503);
      expect(refused.error?.message).toContain(next);
      expect(refused.error?.message).toContain(pinned);
      // Still the same pods: a pinned endpoint is never rolled to a release it does not accept.
      await new Promise((r) => setTimeout(r, 12_000));
      expect((await podsOf(k, APP_NS, selector)).map((p) => p.metadata.uid).sort()).toEqual(pods);
      const d = await k.json<DeploymentObject>(['-n', APP_NS, 'get', 'deployment', proxyDeployment('pinned')]);
      expect(d.status.observedGeneration).toBe(d.metadata.generation);
      expect(rolledOut(d)).toBe(true);
      await k.run(['-n', APP_NS, 'delete', 'inferenceendpoint', 'pinned', '--wait=true']);
    });
  });
}
