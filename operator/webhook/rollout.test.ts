import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import type { RolloutRecord } from '../api/v1alpha1/types.ts';
import { rollSidecarWorkloads, type SidecarRollerDeps, type Workload } from './rollout.ts';

const chat = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' } });
const rollout: RolloutRecord = { at: '2026-01-01T00:00:00Z', reason: 'ReleaseChanged', fromDigest: 'a'.repeat(64), toDigest: 'b'.repeat(64) };

function workload(kind: Workload['kind'], name: string, restart: boolean, podAnnotations: Record<string, string>): Workload {
  const annotations: Record<string, string> = restart ? { 'inference.attested.dev/restart-on-attestation-change': 'true' } : {};
  return { apiVersion: 'apps/v1', kind, metadata: { name, namespace: 'team-a', annotations }, template: { metadata: { annotations: podAnnotations } } };
}

function fakes(workloads: Workload[], namespace: V1ObjectMeta = { name: 'team-a' }): { deps: SidecarRollerDeps; stamped: string[]; events: { regarding: KubernetesObject; message: string }[] } {
  const stamped: string[] = [];
  const events: { regarding: KubernetesObject; message: string }[] = [];
  return {
    stamped,
    events,
    deps: {
      listWorkloads: () => Promise.resolve(workloads),
      readNamespace: () => Promise.resolve(namespace),
      listEndpoints: () => Promise.resolve([chat]),
      stampRelease: (w, digest) => {
        stamped.push(`${w.kind}/${w.metadata.name ?? ''}=${digest.slice(0, 1)}`);
        return Promise.resolve();
      },
      event: (regarding, _type, _reason, message) => events.push({ regarding, message }),
    },
  };
}

describe('rolling injected workloads on a release change', () => {
  it('stamps the new digest on opted-in Deployments and StatefulSets that use the endpoint, and names the rest in one namespace Event', async () => {
    const inject = { 'inference.attested.dev/inject': 'chat' };
    const { deps, stamped, events } = fakes([
      workload('Deployment', 'web', true, inject),
      workload('StatefulSet', 'db', true, inject),
      workload('Deployment', 'quiet', false, inject),
      workload('Deployment', 'other', true, { 'inference.attested.dev/inject': 'elsewhere' }),
      workload('Deployment', 'done', true, { ...inject, 'inference.attested.dev/release-digest': 'b'.repeat(64) }),
    ]);
    expect(await rollSidecarWorkloads(deps, chat, rollout)).toEqual({ rolled: ['deployment/web', 'statefulset/db'], left: ['deployment/quiet'] });
    expect(stamped).toEqual(['Deployment/web=b', 'StatefulSet/db=b']);
    const notice = events.find((e) => e.regarding.kind === 'Namespace');
    expect(notice?.message).toContain('deployment/quiet');
    expect(events.filter((e) => e.regarding.kind !== 'Namespace').map((e) => e.regarding.metadata?.name)).toEqual(['web', 'db']);
  });

  it("finds workloads through the namespace's default endpoint too, and stays quiet when none uses the endpoint", async () => {
    const labelled = { name: 'team-a', labels: { 'inference.attested.dev/injection': 'enabled' } };
    const viaDefault = fakes([workload('Deployment', 'web', true, {})], labelled);
    expect((await rollSidecarWorkloads(viaDefault.deps, chat, rollout)).rolled).toEqual(['deployment/web']);
    const none = fakes([workload('Deployment', 'web', false, {})]);
    expect(await rollSidecarWorkloads(none.deps, chat, rollout)).toEqual({ rolled: [], left: [] });
    expect(none.events).toEqual([]);
  });
});
