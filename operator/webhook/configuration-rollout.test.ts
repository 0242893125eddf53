import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { ConfigurationTracker, rollForConfiguration, sidecarConfigurationHash, type ConfigurationRollerDeps } from './configuration-rollout.ts';
import type { Workload } from './rollout.ts';

const image = { image: 'registry.local/attested-inference-proxy:test', pullPolicy: 'IfNotPresent' } as const;

function reconciled(models: string[] | undefined, generation = 1): InferenceEndpoint {
  const e = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'provider-key' }, ...(models ? { models: { allowed: models } } : {}) });
  e.metadata.namespace = 'team-a';
  e.metadata.generation = generation;
  return Object.assign(e, { status: { observedGeneration: generation } });
}

describe('sidecar configuration changes', () => {
  it('hash what the sidecar runs with: the model allow-list changes it, the replica count does not', () => {
    const base = sidecarConfigurationHash(reconciled(undefined), { image });
    expect(sidecarConfigurationHash(reconciled(['llama']), { image })).not.toBe(base);
    const scaled = reconciled(undefined);
    expect(sidecarConfigurationHash({ ...scaled, spec: { ...scaled.spec, replicas: 7 } }, { image })).toBe(base);
  });

  it('are reported once, after a reconciled change, never on first sight or before the operator reconciled', () => {
    const tracker = new ConfigurationTracker((e) => sidecarConfigurationHash(e, { image }));
    expect(tracker.observe(reconciled(undefined))).toBeUndefined();
    const pending = { ...reconciled(['llama'], 2), status: { observedGeneration: 1 } };
    expect(tracker.observe(pending)).toBeUndefined();
    const change = tracker.observe(reconciled(['llama'], 2));
    expect(change?.from).not.toBe(change?.to);
    expect(tracker.observe(reconciled(['llama'], 2))).toBeUndefined();
  });

  it('roll workloads that opted in and name the others in one namespace Event', async () => {
    const workloads: Workload[] = [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'opted', annotations: { 'inference.attested.dev/restart-on-attestation-change': 'true' } }, template: { metadata: { annotations: { 'inference.attested.dev/inject': 'chat' } } } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'quiet' }, template: { metadata: { annotations: { 'inference.attested.dev/inject': 'chat' } } } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'done', annotations: { 'inference.attested.dev/restart-on-attestation-change': 'true' } }, template: { metadata: { annotations: { 'inference.attested.dev/inject': 'chat', 'inference.attested.dev/sidecar-configuration': 'new' } } } },
    ];
    const stamped: string[] = [];
    const events: string[] = [];
    const deps: ConfigurationRollerDeps = {
      listWorkloads: () => Promise.resolve(workloads),
      readNamespace: () => Promise.resolve({ name: 'team-a' }),
      listEndpoints: () => Promise.resolve([reconciled(undefined)]),
      stamp: (w, annotation, value) => { stamped.push(`${w.metadata.name ?? ''} ${annotation}=${value}`); return Promise.resolve(); },
      event: (o, _type, reason, message) => events.push(`${o.kind ?? ''} ${reason}: ${message}`),
    };
    expect(await rollForConfiguration(deps, reconciled(undefined), { from: 'old', to: 'new' })).toEqual({ rolled: ['deployment/opted'], left: ['statefulset/quiet'] });
    expect(stamped).toEqual(['opted inference.attested.dev/sidecar-configuration=new']);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatch(/^Namespace SidecarConfigurationChanged: .*statefulset\/quiet run the older configuration/);
  });
});
