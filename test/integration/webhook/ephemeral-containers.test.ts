import type { V1EphemeralContainer, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIDECAR_CONTAINER_NAME, SIDECAR_UID } from '../../../operator/webhook/sidecar.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, parseObjects } from '../packaging/chart.ts';

const KEY_VOLUME = 'attested-inference-provider-key';
// The policy is cluster-scoped: a release name of its own keeps other tests' installs of the chart
// (the README's, which uninstalls `attested-inference-operator`) from deleting it mid-test.
const RELEASE = 'ephemeral-attested-inference-operator';
const POLICY = `${RELEASE}-sidecar-isolation`;

/** injectedPod is a pod shaped as the webhook leaves it: the sidecar first among the init containers, holding the key volume. */
function injectedPod(name: string, withSidecar = true): V1Pod {
  const sidecar = { name: SIDECAR_CONTAINER_NAME, image: 'registry.local/proxy:1', restartPolicy: 'Always', volumeMounts: [{ name: KEY_VOLUME, mountPath: '/var/run/secrets/inference/provider' }] };
  return {
    metadata: { name },
    spec: {
      ...(withSidecar ? { initContainers: [sidecar] } : {}),
      containers: [{ name: 'app', image: 'registry.local/app:1' }],
      volumes: withSidecar ? [{ name: KEY_VOLUME, emptyDir: {} }] : [],
    },
  };
}

describe('ephemeral containers in a pod with the proxy sidecar (the chart\'s ValidatingAdmissionPolicy)', () => {
  const cluster = testCluster();
  let ns: { name: string; remove: () => Promise<void> };
  let policyObjects = '';

  /** addEphemeral asks the API server to add one ephemeral container (what `kubectl debug` does); it returns the refusal, or undefined. */
  const addEphemeral = async (pod: string, container: V1EphemeralContainer, dryRun = false): Promise<string | undefined> => {
    const live = await cluster.core.readNamespacedPod({ namespace: ns.name, name: pod });
    live.spec!.ephemeralContainers = [...(live.spec!.ephemeralContainers ?? []), container];
    try {
      await cluster.core.replaceNamespacedPodEphemeralcontainers({ namespace: ns.name, name: pod, body: live, ...(dryRun ? { dryRun: 'All' } : {}) });
      return undefined;
    } catch (error) {
      return (error as { body?: string }).body ?? String(error);
    }
  };

  beforeAll(async () => {
    const rendered = parseObjects(expectOk(await cluster.helm(['template', RELEASE, CHART_DIR, '--namespace', 'attested-inference-system', '--set', 'webhook.enabled=true']), 'helm template'));
    const objects = rendered.filter((o) => o.metadata.name === POLICY);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    policyObjects = objects.map((o) => stringify(o)).join('---\n');
    expectOk(await cluster.kubectl(['apply', '-f', '-'], policyObjects), 'kubectl apply the sidecar isolation policy');
    ns = await createNamespace(cluster.core, 'aio-ephemeral');
    for (const [name, withSidecar] of [['injected', true], ['plain', false]] as const) {
      await cluster.core.createNamespacedPod({ namespace: ns.name, body: injectedPod(name, withSidecar) });
    }
    // A new policy takes a moment to be enforced: wait until a dry run of the first attack is refused.
    await waitFor('the sidecar isolation policy to be enforced', async () => (await addEphemeral('injected', { name: 'probe', image: 'busybox', targetContainerName: SIDECAR_CONTAINER_NAME }, true)) !== undefined, { timeoutMs: 30_000, intervalMs: 250 });
  });

  afterAll(async () => {
    await ns.remove();
    await cluster.kubectl(['delete', '-f', '-', '--ignore-not-found'], policyObjects);
  });

  it('refuses one that targets the sidecar (sharing its processes), naming the field and the policy', async () => {
    const refusal = await addEphemeral('injected', { name: 'peek', image: 'busybox', targetContainerName: SIDECAR_CONTAINER_NAME });
    expect(refusal).toContain(POLICY);
    expect(refusal).toContain('spec.ephemeralContainers: an ephemeral container may not target the attested-inference-proxy sidecar');
  });

  it('refuses one that mounts the sidecar\'s key volume', async () => {
    const refusal = await addEphemeral('injected', { name: 'mount', image: 'busybox', volumeMounts: [{ name: KEY_VOLUME, mountPath: '/key' }] });
    expect(refusal).toContain('may not mount the attested-inference-proxy sidecar\'s volumes');
  });

  it('refuses one that runs as the sidecar\'s UID', async () => {
    const refusal = await addEphemeral('injected', { name: 'uid', image: 'busybox', securityContext: { runAsUser: SIDECAR_UID } });
    expect(refusal).toContain(`may not run as the attested-inference-proxy sidecar's UID ${String(SIDECAR_UID)}`);
  });

  it('admits a debug container beside the app, and any ephemeral container in a pod without the sidecar', async () => {
    expect(await addEphemeral('injected', { name: 'debug', image: 'busybox', targetContainerName: 'app' })).toBeUndefined();
    expect(await addEphemeral('plain', { name: 'debug', image: 'busybox', volumeMounts: [] })).toBeUndefined();
    const stored = await cluster.core.readNamespacedPod({ namespace: ns.name, name: 'injected' });
    expect(stored.spec?.ephemeralContainers?.map((e) => e.name)).toEqual(['debug']);
  });
});
