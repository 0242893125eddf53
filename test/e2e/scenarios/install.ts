import { describe, expect, it } from 'vitest';
import { helmInstall } from '../harness/install.ts';
import { eventually, podReady, podsOf } from '../harness/kube.ts';
import { RELEASE, RELEASE_NAMESPACE } from '../harness/world.ts';
import type { World } from '../harness/world-state.ts';

export const OPERATOR_SELECTOR = `app.kubernetes.io/name=attested-inference-operator,app.kubernetes.io/instance=${RELEASE}`;

/** leaseHolder is the leader Lease's holder (an operator pod's name). */
export async function leaseHolder(world: World): Promise<string> {
  const lease = await world.k.json<{ spec: { holderIdentity?: string } }>(['-n', RELEASE_NAMESPACE, 'get', 'lease', 'attested-inference-operator']);
  return lease.spec.holderIdentity ?? '';
}

/** Scenario 1: helm install of the chart with the locally built images. */
export function installScenario(world: World): void {
  describe('1. helm install', () => {
    it('installs the chart; both operator replicas become Ready and one holds the leader Lease', async () => {
      const { k } = world;
      await helmInstall(k);
      const pods = await podsOf(k, RELEASE_NAMESPACE, OPERATOR_SELECTOR);
      expect(pods).toHaveLength(2);
      expect(pods.every(podReady)).toBe(true);
      expect(pods.every((p) => p.spec.containers[0]?.image === k.images.operator)).toBe(true);
      const holder = await eventually('a leader', async () => (await leaseHolder(world)) || undefined, { timeoutMs: 60_000 });
      expect(pods.map((p) => p.metadata.name)).toContain(holder);
      const crd = await k.json<{ status: { conditions: { type: string; status: string }[] } }>(['get', 'crd', 'inferenceendpoints.inference.attested.dev']);
      expect(crd.status.conditions.find((c) => c.type === 'Established')?.status).toBe('True');
    });
  });
}
