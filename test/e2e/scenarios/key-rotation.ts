import { describe, expect, it } from 'vitest';
import { keySecret, metricSum, podMetrics } from '../harness/endpoints.ts';
import { eventually, podsOf, settledPodsOf, type E2e } from '../harness/kube.ts';
import { clientChat, INFERENCE_PATHS, simulator, simulatorRequests, startLoop } from '../harness/world.ts';
import { APP_NS, CHAT, proxyDeployment, CHAT_URL, type World } from '../harness/world-state.ts';
import { appRequests, bearerKey, CHAT_SELECTOR, FIRST_KEY, SECOND_KEY } from './endpoint.ts';

/** keysSeen are the provider keys of the inference requests from this namespace's proxies. */
async function keysSeen(world: World): Promise<string[]> {
  return (await appRequests(world.k)).map(bearerKey);
}

/** POOL_KEYS are the endpoint's keys while it runs a pool; the router refuses the second. */
const POOL_KEYS = ['sk-e2e-pool-a', 'sk-e2e-pool-revoked', 'sk-e2e-pool-c'] as const;
const POOL_SECRET = 'provider-key-pool';

/** useKeys points the chat endpoint at `spec` (its provider key fields) and waits until its proxy pods rolled and settled. */
async function useKeys(k: E2e, keys: Record<string, unknown>): Promise<number> {
  await k.run(['-n', APP_NS, 'patch', 'inferenceendpoint', CHAT, '--type=merge', '-p', JSON.stringify({ spec: keys })]);
  await eventually('the proxy Deployment to take the new keys', async () => {
    const d = await k.json<{ metadata: { generation: number }; spec: { template: { spec: { volumes?: unknown[] } } }; status: { observedGeneration?: number } }>(['-n', APP_NS, 'get', 'deployment', proxyDeployment(CHAT)]);
    const pooled = JSON.stringify(d.spec.template.spec.volumes ?? []).includes(POOL_SECRET);
    return d.status.observedGeneration === d.metadata.generation && pooled === (keys.apiKeySecretRefs !== null) ? d : undefined;
  }, { timeoutMs: 60_000 });
  await k.run(['-n', APP_NS, 'rollout', 'status', `deployment/${proxyDeployment(CHAT)}`, '--timeout=180s']);
  return (await settledPodsOf(k, APP_NS, CHAT_SELECTOR)).length;
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

    it('serves from a pool of three keys while the router refuses one, which each pod tries at most once', async () => {
      const { k } = world;
      const data = Object.fromEntries(POOL_KEYS.map((key, i) => [`key-${String(i)}`, Buffer.from(key).toString('base64')]));
      await k.apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: POOL_SECRET, namespace: APP_NS }, data }]);
      await simulator(k, 'POST', 'router-error', { status: 401, forKey: POOL_KEYS[1] });
      try {
        const pods = await useKeys(k, { apiKeySecretRef: null, apiKeySecretRefs: POOL_KEYS.map((_, i) => ({ name: POOL_SECRET, key: `key-${String(i)}` })) });
        await simulator(k, 'DELETE', 'requests');
        const loop = startLoop(k, APP_NS, CHAT_URL, 'pool');
        await new Promise((resolve) => setTimeout(resolve, 15_000));
        const result = await loop.stop();
        expect(result.failed, JSON.stringify(result.errors)).toBe(0);
        expect(result.ok).toBeGreaterThanOrEqual(10);
        const seen = (await simulatorRequests(k)).filter((r) => INFERENCE_PATHS.includes(r.path) && (POOL_KEYS as readonly string[]).includes(bearerKey(r)));
        const refused = seen.filter((r) => bearerKey(r) === POOL_KEYS[1]);
        expect(refused.every((r) => r.status === 401)).toBe(true);
        expect(refused.length).toBeGreaterThanOrEqual(1);
        expect(refused.length).toBeLessThanOrEqual(pods);
        expect(new Set(seen.filter((r) => r.status === 200).map(bearerKey))).toEqual(new Set([POOL_KEYS[0], POOL_KEYS[2]]));
        let setAside = 0;
        for (const pod of await podsOf(k, APP_NS, CHAT_SELECTOR)) setAside += metricSum(await podMetrics(k, APP_NS, pod.metadata.name), 'attested_inference_provider_key_set_aside', { key_index: '1' });
        expect(setAside).toBe(refused.length);
      } finally {
        await simulator(k, 'POST', 'router-error', { status: null });
        await useKeys(k, { apiKeySecretRefs: null, apiKeySecretRef: { name: 'provider-key', key: 'api-key' } });
      }
    });
  });
}
