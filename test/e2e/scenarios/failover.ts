import { describe, expect, it } from 'vitest';
import { eventually, podReady, podsOf } from '../harness/kube.ts';
import { RELEASE_NAMESPACE } from '../harness/world.ts';
import { APP_NS, CHAT, proxyDeployment, type World } from '../harness/world-state.ts';
import { leaseHolder, OPERATOR_SELECTOR } from './install.ts';

/** Scenario 7: the leader's pod is deleted; the other replica takes the Lease and keeps reconciling. */
export function failoverScenario(world: World): void {
  describe('7. operator failover', () => {
    it('hands the Lease to the other replica, which reconciles a change', async () => {
      const { k } = world;
      const leader = await leaseHolder(world);
      const standby = (await podsOf(k, RELEASE_NAMESPACE, OPERATOR_SELECTOR)).map((p) => p.metadata.name).find((n) => n !== leader);
      expect(leader).not.toBe('');
      expect(standby).toBeDefined();
      await k.run(['-n', RELEASE_NAMESPACE, 'delete', 'pod', leader, '--wait=false']);
      const next = await eventually('another replica to hold the Lease', async () => {
        const holder = await leaseHolder(world);
        return holder !== '' && holder !== leader ? holder : undefined;
      }, { timeoutMs: 90_000 });
      // The leader hands the Lease back as it stops; the standby or the ReplicaSet's replacement
      // pod, whichever asks first, takes it. Either way it is a running replica, not the old one.
      const running = (await podsOf(k, RELEASE_NAMESPACE, OPERATOR_SELECTOR)).filter((p) => p.status.phase === 'Running').map((p) => p.metadata.name);
      expect(running).toContain(next);
      await k.run(['-n', APP_NS, 'patch', 'inferenceendpoint', CHAT, '--type=merge', '-p', '{"spec":{"replicas":3}}']);
      await eventually('the new leader to scale the proxy Deployment to 3', async () => {
        const d = await k.json<{ spec: { replicas: number }; status: { readyReplicas?: number } }>(['-n', APP_NS, 'get', 'deployment', proxyDeployment(CHAT)]);
        return d.spec.replicas === 3 && d.status.readyReplicas === 3 ? d : undefined;
      }, { timeoutMs: 120_000 });
      await eventually('the endpoint status to report 3 ready replicas', async () => {
        const e = await k.json<{ metadata: { generation: number }; status: { readyReplicas?: number; conditions?: { type: string; observedGeneration?: number }[] } }>(['-n', APP_NS, 'get', 'inferenceendpoint', CHAT]);
        const ready = e.status.conditions?.find((c) => c.type === 'Ready');
        return e.status.readyReplicas === 3 && ready?.observedGeneration === e.metadata.generation ? e : undefined;
      }, { timeoutMs: 60_000 });
      await eventually('the operator Deployment to be whole again', async () => {
        const pods = await podsOf(k, RELEASE_NAMESPACE, OPERATOR_SELECTOR);
        return pods.length === 2 && pods.every(podReady) ? pods : undefined;
      }, { timeoutMs: 120_000 });
    });
  });
}
