import { describe, expect, it } from 'vitest';
import { endpointManifest, getEndpoint, metricSum, namespaceWithKey, podMetrics, proxySelector, waitReady } from '../harness/endpoints.ts';
import { podReady, podsOf, type E2e } from '../harness/kube.ts';
import { clientChat, deployClient, INFERENCE_PATHS, simulatorRequests, type ClientAnswer, type SimulatedRequest } from '../harness/world.ts';
import { APP_NS, CHAT, CHAT_URL, type World } from '../harness/world-state.ts';

export const CHAT_SELECTOR = proxySelector(CHAT);
export const FIRST_KEY = 'sk-e2e-first-provider-key';
/** SECOND_KEY replaces FIRST_KEY in the key-rotation scenario. */
export const SECOND_KEY = 'sk-e2e-second-provider-key';

/** bearerKey is the provider key a request to the simulator carried. */
export function bearerKey(request: SimulatedRequest): string {
  return (request.headers.authorization ?? '').replace(/^Bearer /, '');
}

/**
 * appRequests are the inference requests the simulator saw from this namespace's proxies, told
 * apart by the provider keys only they hold: other scenarios' proxies and sidecars (the sidecar
 * app calls every few seconds) use the same simulator with keys of their own.
 */
export async function appRequests(k: E2e): Promise<SimulatedRequest[]> {
  return (await simulatorRequests(k)).filter((r) => INFERENCE_PATHS.includes(r.path) && [FIRST_KEY, SECOND_KEY].includes(bearerKey(r)));
}

/** Scenario 2: an endpoint answers the openai SDK from a client pod; metrics count it. */
export function endpointScenario(world: World): void {
  describe('2. an InferenceEndpoint answers the openai SDK', () => {
    it('becomes Ready with Running, Ready proxy pods', async () => {
      const { k } = world;
      await namespaceWithKey(k, APP_NS, FIRST_KEY);
      await k.apply([endpointManifest(CHAT, APP_NS, world.publicKeyPem)]);
      await waitReady(k, APP_NS, CHAT);
      const pods = await podsOf(k, APP_NS, CHAT_SELECTOR);
      expect(pods).toHaveLength(2);
      expect(pods.every((p) => p.status.phase === 'Running' && podReady(p))).toBe(true);
      const endpoint = await getEndpoint(k, APP_NS, CHAT);
      expect(endpoint.status?.url).toBe(CHAT_URL);
      expect(endpoint.status?.attestation?.releaseDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(endpoint.status?.conditions?.find((c) => c.type === 'Attested')).toMatchObject({ status: 'True', reason: 'DevelopmentTrust' });
    });

    it('answers plain and streaming chat completions from a client pod, and /metrics counts tokens and cost', async () => {
      const { k } = world;
      await deployClient(k, APP_NS);
      const answers: ClientAnswer[] = [];
      for (const stream of [false, true, false, true]) {
        const answer = await clientChat(k, APP_NS, CHAT_URL, { stream });
        expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
        expect(answer.content).toBe('This is the enclave simulator answering as llama3-3-70b.');
        expect(answer.usage?.total_tokens).toBeGreaterThan(0);
        answers.push(answer);
      }
      const input = answers.reduce((n, a) => n + (a.usage?.prompt_tokens ?? 0), 0);
      const output = answers.reduce((n, a) => n + (a.usage?.completion_tokens ?? 0), 0);
      // The two pods share the traffic; their counters add up to exactly what the client was told.
      const texts = await Promise.all((await podsOf(k, APP_NS, CHAT_SELECTOR)).map((p) => podMetrics(k, APP_NS, p.metadata.name)));
      const sum = (name: string, labels: Record<string, string>): number => texts.reduce((n, t) => n + metricSum(t, name, labels), 0);
      expect(sum('attested_inference_tokens_total', { model: 'llama3-3-70b', token_type: 'input' })).toBe(input);
      expect(sum('attested_inference_tokens_total', { model: 'llama3-3-70b', token_type: 'output' })).toBe(output);
      // 1 USD per million input tokens and 2 per million output tokens: micro-USD = input + 2 × output.
      expect(sum('attested_inference_cost_micros_total', { model: 'llama3-3-70b', currency: 'USD' })).toBe(input + 2 * output);
    });
  });
}
