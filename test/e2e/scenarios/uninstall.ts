import { describe, expect, it } from 'vitest';
import { eventually } from '../harness/kube.ts';
import { RELEASE, RELEASE_NAMESPACE } from '../harness/world.ts';
import { APP_NS, CHAT, type World } from '../harness/world-state.ts';

const CLUSTER_KINDS = 'clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations,validatingadmissionpolicies,validatingadmissionpolicybindings';

/** Scenario 9: helm uninstall leaves only what docs/helm.md says it keeps. */
export function uninstallScenario(world: World): void {
  describe('9. helm uninstall', () => {
    it('removes everything the chart made and keeps the CRD and the endpoints, as documented', async () => {
      const { k } = world;
      const result = await k.helm(['uninstall', RELEASE, '--namespace', RELEASE_NAMESPACE, '--wait', '--timeout', '3m']);
      expect(result.code, result.stderr).toBe(0);
      const instance = `app.kubernetes.io/instance=${RELEASE}`;
      // The operator pods go with their Deployment (garbage collection, after their grace period).
      await eventually('the operator pods to be gone', async () => ((await k.run(['-n', RELEASE_NAMESPACE, 'get', 'pods', '-o', 'name'])).trim() === '' ? true : undefined), { timeoutMs: 90_000 });
      expect((await k.run(['get', CLUSTER_KINDS, '-l', instance, '-o', 'name'])).trim()).toBe('');
      expect((await k.run(['-n', RELEASE_NAMESPACE, 'get', 'all,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets,networkpolicies', '-l', instance, '-o', 'name'])).trim()).toBe('');
      for (const [kind, name] of [['clusterrole', 'attested-inference-tokenreview'], ['mutatingwebhookconfiguration', 'attested-inference-sidecar-injector']] as const) {
        expect((await k.kubectl(['get', kind, name])).stderr).toContain('NotFound');
      }
      expect((await k.kubectl(['-n', RELEASE_NAMESPACE, 'get', 'secret', 'attested-inference-webhook-tls'])).stderr).toContain('NotFound');
      // What the chart documents it keeps: the CRD, hence the endpoints and the proxies they own,
      // and the leader Lease the operator wrote at run time (it goes with the namespace).
      expect((await k.run(['get', 'crd', 'inferenceendpoints.inference.attested.dev', '-o', 'name'])).trim()).not.toBe('');
      expect((await k.run(['-n', APP_NS, 'get', 'inferenceendpoint', CHAT, '-o', 'name'])).trim()).not.toBe('');
      const left = (await k.run(['-n', RELEASE_NAMESPACE, 'get', 'configmaps,secrets,serviceaccounts,leases,services,deployments', '-o', 'name'])).trim().split('\n').filter(Boolean);
      // (secret/limits-redis is the suite's own, made before the install.)
      expect(left.sort()).toEqual(['configmap/kube-root-ca.crt', 'lease.coordination.k8s.io/attested-inference-operator', 'secret/limits-redis', 'serviceaccount/default']);
    });
  });
}
