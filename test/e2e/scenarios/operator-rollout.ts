import { describe, expect, it } from 'vitest';
import { endpointManifest, namespaceWithKey, waitReady } from '../harness/endpoints.ts';
import { podsOf, type E2e, type PodObject } from '../harness/kube.ts';
import { RELEASE, RELEASE_NAMESPACE } from '../harness/world.ts';
import type { World } from '../harness/world-state.ts';
import { OPERATOR_SELECTOR } from './install.ts';

// docs/adr/0016: on SIGTERM the webhook turns not ready, keeps answering for webhook.drainSeconds
// (each answer closing its connection, so the API server's connections move to the other replica),
// then closes. Attack: it used to close at once, so every operator rollout refused pod creations
// in injected namespaces under failurePolicy Fail.

const NS = 'aio-e2e-operator-rollout';
const ENDPOINT = 'roll';
const CREATORS = 3;

/** dryRunPod creates a pod in NS with a server-side dry run: admission (the webhook, failurePolicy Fail) runs, nothing is stored or scheduled. */
async function dryRunPod(k: E2e, name: string): Promise<string | undefined> {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: k.images.proxy, command: ['/nodejs/bin/node', '-e', 'setInterval(() => {}, 1e9)'] }] } };
  const result = await k.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(pod));
  if (result.code !== 0) return `${name}: ${result.stderr.trim()}`;
  const created = JSON.parse(result.stdout) as PodObject & { metadata: { annotations?: Record<string, string> } };
  return created.metadata.annotations?.['inference.attested.dev/status'] === 'injected' ? undefined : `${name}: not injected`;
}

/** Scenario: an operator rollout while pods are created in an injected namespace. */
export function operatorRolloutScenario(world: World): void {
  describe('operator rollout under pod creation', () => {
    it('refuses no pod creation in an injected namespace while the operator Deployment rolls (kubectl rollout restart)', async () => {
      const { k } = world;
      await namespaceWithKey(k, NS, 'sk-e2e-operator-rollout-key', { 'inference.attested.dev/injection': 'enabled' });
      await k.apply([endpointManifest(ENDPOINT, NS, world.publicKeyPem)]);
      await waitReady(k, NS, ENDPOINT);
      expect(await dryRunPod(k, 'before')).toBeUndefined();
      const before = (await podsOf(k, RELEASE_NAMESPACE, OPERATOR_SELECTOR)).map((p) => p.metadata.uid);

      const failures: string[] = [];
      let admitted = 0;
      let running = true;
      const creator = async (id: number): Promise<void> => {
        for (let n = 0; running; n++) {
          const failure = await dryRunPod(k, `load-${String(id)}-${String(n)}`);
          if (failure === undefined) admitted++;
          else failures.push(failure);
        }
      };
      const creators = Array.from({ length: CREATORS }, (_, id) => creator(id));
      await k.run(['-n', RELEASE_NAMESPACE, 'rollout', 'restart', `deployment/${RELEASE}`]);
      await k.run(['-n', RELEASE_NAMESPACE, 'rollout', 'status', `deployment/${RELEASE}`, '--timeout=300s']);
      // The last old pod drains after the rollout reports done: keep creating past its drain.
      await new Promise((resolve) => setTimeout(resolve, 20_000));
      running = false;
      await Promise.all(creators);

      expect(failures).toEqual([]);
      expect(admitted).toBeGreaterThan(20);
      // The rollout replaced every replica that served before it.
      const after = await podsOf(k, RELEASE_NAMESPACE, OPERATOR_SELECTOR);
      expect(after.filter((p) => p.status.phase === 'Running').map((p) => p.metadata.uid).some((uid) => before.includes(uid))).toBe(false);
      await k.run(['delete', 'namespace', NS, '--wait=false']);
    });
  });
}
