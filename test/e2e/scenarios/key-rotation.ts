import { describe, expect, it } from 'vitest';
import { keySecret } from '../harness/endpoints.ts';
import { eventually, podsOf, settledPodsOf } from '../harness/kube.ts';
import { clientChat, simulator, startLoop } from '../harness/world.ts';
import { APP_NS, CHAT, proxyDeployment, CHAT_URL, type World } from '../harness/world-state.ts';
import { appRequests, bearerKey, CHAT_SELECTOR, FIRST_KEY, SECOND_KEY } from './endpoint.ts';

/** keysSeen are the provider keys of the inference requests from this namespace's proxies. */
async function keysSeen(world: World): Promise<string[]> {
  return (await appRequests(world.k)).map(bearerKey);
}

/** Scenario 5: a new provider key in the Secret is used without a restart and without a failed request. */
export function keyRotationScenario(world: World): void {
  describe('5. provider key rotation', () => {
    it('uses the new key for new requests, with no pod restart and no failed request', async () => {
      const { k } = world;
      await k.run(['-n', APP_NS, 'rollout', 'status', `deployment/${proxyDeployment(CHAT)}`, '--timeout=180s']);
      const podsBefore = await settledPodsOf(k, APP_NS, CHAT_SELECTOR);
      await simulator(k, 'DELETE', 'requests');
      expect((await clientChat(k, APP_NS, CHAT_URL)).error).toBeUndefined();
      expect(await keysSeen(world)).toEqual([FIRST_KEY]);
      const loop = startLoop(k, APP_NS, CHAT_URL, 'rotation');
      await k.apply([keySecret(APP_NS, SECOND_KEY)]);
      // kubelet refreshes the mounted Secret; each proxy reloads the file. Both pods must switch.
      await eventually('both proxy pods to send the new key', async () => {
        await simulator(k, 'DELETE', 'requests');
        for (let i = 0; i < 6; i++) await clientChat(k, APP_NS, CHAT_URL);
        const keys = await keysSeen(world);
        return keys.length >= 6 && keys.every((key) => key === SECOND_KEY) ? keys : undefined;
      }, { timeoutMs: 150_000, intervalMs: 2_000 });
      const result = await loop.stop();
      expect(result.failed, JSON.stringify(result.errors)).toBe(0);
      expect(result.ok).toBeGreaterThan(0);
      const podsAfter = await podsOf(k, APP_NS, CHAT_SELECTOR);
      expect(podsAfter.map((p) => p.metadata.uid).sort()).toEqual(podsBefore.map((p) => p.metadata.uid).sort());
      expect(podsAfter.flatMap((p) => p.status.containerStatuses ?? []).every((s) => s.restartCount === 0)).toBe(true);
    });
  });
}
