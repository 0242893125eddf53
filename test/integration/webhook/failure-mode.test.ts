import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { appNamespace, failureOf, metricValue, podWith, readyEndpoint, startTestWebhook, waitForInjection, type TestWebhook } from './support.ts';

describe('a pod naming a missing endpoint, in each failure mode', () => {
  const cluster = testCluster();
  let ns: Awaited<ReturnType<typeof appNamespace>> | undefined;
  let webhook: TestWebhook | undefined;

  beforeAll(async () => {
    await installCrd(cluster);
    ns = await appNamespace(cluster, 'failure-mode');
    await readyEndpoint(cluster, ns.name, 'chat');
  });
  afterEach(async () => {
    await webhook?.remove();
    webhook = undefined;
  });
  afterAll(async () => {
    await ns?.remove();
  });

  it('reject: the API server refuses the pod with the reason code and the endpoint in the message', async () => {
    webhook = await startTestWebhook(cluster, { name: 'mode-reject', failureMode: 'reject' });
    await waitForInjection(cluster, ns!.name, podWith('probe'));
    const error = await failureOf(cluster.core.createNamespacedPod({ namespace: ns!.name, body: podWith('missing', { 'inference.attested.dev/inject': 'missing' }) }));
    expect(error).toMatch(/admission webhook .*namespaces\.sidecar\.inference\.attested\.dev.* denied the request: attested-inference sidecar injection refused the pod \(endpoint-not-found\)/);
    expect(error).toMatch(/endpoint .*missing/);
    expect(await metricValue(webhook.registry, 'rejected', 'endpoint-not-found')).toBe(1);
    expect(webhook.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'SidecarInjectionRejected' }));
  });

  it('admit: the pod is created without the sidecar, annotated, with a warning and an Event', async () => {
    webhook = await startTestWebhook(cluster, { name: 'mode-admit', failureMode: 'admit' });
    await waitForInjection(cluster, ns!.name, podWith('probe'));
    const warnings: string[] = [];
    const result = await cluster.kubectl(['run', 'missing', '-n', ns!.name, '--image=registry.local/app:1', '--annotations=inference.attested.dev/inject=missing', '--overrides={"spec":{"automountServiceAccountToken":false}}']);
    warnings.push(result.stderr);
    expect(result.stderr + result.stdout).toContain('pod/missing created');
    expect(warnings.join('')).toContain('Warning: attested-inference sidecar not injected (endpoint-not-found)');
    const pod = await cluster.core.readNamespacedPod({ namespace: ns!.name, name: 'missing' });
    expect(pod.metadata!.annotations!['inference.attested.dev/status']).toBe('skipped:endpoint-not-found');
    expect(pod.spec!.initContainers ?? []).toEqual([]);
    expect(pod.spec!.containers[0]!.env ?? []).toEqual([]);
    expect(await metricValue(webhook.registry, 'skipped', 'endpoint-not-found')).toBe(1);
    expect(webhook.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'SidecarInjectionSkipped', regarding: expect.objectContaining({ kind: 'Namespace' }) as unknown }));
  });
});
