import { describe, expect, it } from 'vitest';
import { getEndpoint, podAttestation } from '../harness/endpoints.ts';
import { eventually, podReady, podsOf, type PodObject } from '../harness/kube.ts';
import { clientChat, simulator } from '../harness/world.ts';
import { APP_NS, CHAT, CHAT_URL, type World } from '../harness/world-state.ts';
import { appRequests, CHAT_SELECTOR } from './endpoint.ts';

/** Scenario 6: attestation that does not verify; proxies stay Ready and refuse, nothing reaches the enclave. */
export function failClosedScenario(world: World): void {
  describe('6. fail closed', () => {
    it('answers attestation_failed from Ready pods, says why in the condition, and sends nothing upstream; recovers after', async () => {
      const { k } = world;
      const pods = await podsOf(k, APP_NS, CHAT_SELECTOR);
      await simulator(k, 'POST', 'attestation', { fault: 'bad-signature' });
      try {
        await refusesWhileBroken(world, pods);
      } finally {
        // Lifted even when a check failed, so later scenarios do not inherit a broken upstream.
        await simulator(k, 'POST', 'attestation', { fault: null });
      }
      await eventually('the endpoint to answer again', async () => ((await clientChat(k, APP_NS, CHAT_URL)).error === undefined ? true : undefined), { timeoutMs: 60_000 });
      await eventually('Attested=True again', async () => {
        const c = (await getEndpoint(k, APP_NS, CHAT)).status?.conditions?.find((x) => x.type === 'Attested');
        return c?.status === 'True' ? c : undefined;
      }, { timeoutMs: 60_000 });
    });
  });
}

/** refusesWhileBroken checks the proxies while the upstream's attestation does not verify. */
async function refusesWhileBroken(world: World, pods: readonly PodObject[]): Promise<void> {
  const { k } = world;
  // Each proxy notices at its next recheck (10 s).
  for (const pod of pods) {
    await eventually(`${pod.metadata.name} to fail its attestation`, async () => ((await podAttestation(k, APP_NS, pod.metadata.name)).status === 'failed' ? true : undefined), { timeoutMs: 60_000 });
  }
  await simulator(k, 'DELETE', 'requests');
  for (let i = 0; i < 4; i++) {
    const answer = await clientChat(k, APP_NS, CHAT_URL, { stream: i % 2 === 1 });
    expect(answer.error).toMatchObject({ status: 503, code: 'attestation_failed' });
  }
  for (const pod of pods) {
    const answer = await clientChat(k, APP_NS, `http://${pod.status.podIP ?? ''}:8080/v1`);
    expect(answer.error?.code).toBe('attestation_failed');
  }
  expect(await appRequests(k)).toEqual([]);
  expect((await podsOf(k, APP_NS, CHAT_SELECTOR)).every(podReady)).toBe(true);
  const condition = await eventually('Attested=False', async () => {
    const c = (await getEndpoint(k, APP_NS, CHAT)).status?.conditions?.find((x) => x.type === 'Attested');
    return c?.status === 'False' ? c : undefined;
  }, { timeoutMs: 60_000 });
  expect(condition.reason).toBe('AttestationFailed');
  expect(condition.message ?? '').toMatch(/signature/i);
}
