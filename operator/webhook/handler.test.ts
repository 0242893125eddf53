import type { V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { applyPatch, patchFixture, podFixture } from '../../test/fixtures/webhook/patches.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import type { EndpointPolicy } from '../policy/admin-policy.ts';
import { parsePolicy } from '../policy/load.ts';
import type { AdmissionResponse } from './admission.ts';
import { admitPod, type FailureMode, type InjectionOutcome } from './handler.ts';
import type { PatchOperation } from './json-patch.ts';

const chat: InferenceEndpoint = { ...endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'provider-key' } }), status: { observedGeneration: 1 } };
const image = { image: 'registry.local/attested-inference-proxy:test', pullPolicy: 'IfNotPresent' } as const;

async function admit(pod: V1Pod, options: { namespace?: V1ObjectMeta; endpoints?: InferenceEndpoint[]; failureMode?: FailureMode; dryRun?: boolean; policy?: EndpointPolicy } = {}): Promise<{ response: AdmissionResponse; patch: PatchOperation[]; outcomes: InjectionOutcome[] }> {
  const outcomes: InjectionOutcome[] = [];
  const response = await admitPod(
    { uid: 'uid-1', namespace: 'team-a', object: pod, ...(options.dryRun ? { dryRun: true } : {}) },
    { readNamespace: () => Promise.resolve(options.namespace ?? { name: 'team-a' }), listEndpoints: () => Promise.resolve(options.endpoints ?? [chat]), report: (o) => outcomes.push(o) },
    { image, failureMode: options.failureMode ?? 'reject', ...(options.policy ? { policy: options.policy } : {}) },
  );
  const patch = response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as PatchOperation[]) : [];
  return { response, patch, outcomes };
}

describe('the admission handler and the patch builder', () => {
  it('answers an opted-in pod with the stored expected patch', async () => {
    const { response, patch, outcomes } = await admit(podFixture('app'));
    expect(response).toMatchObject({ uid: 'uid-1', allowed: true, patchType: 'JSONPatch' });
    expect(patch).toEqual(patchFixture('app'));
    expect(outcomes).toEqual([expect.objectContaining({ result: 'injected', reason: 'injected', endpoint: 'chat', pod: 'app', dryRun: false })]);
  });

  it("answers a Deployment's pod in an opted-in namespace (its only endpoint, no annotations yet) with the stored expected patch", async () => {
    const { patch } = await admit(podFixture('web'), { namespace: { name: 'team-a', labels: { 'inference.attested.dev/injection': 'enabled' } } });
    expect(patch).toEqual(patchFixture('web'));
  });

  it('mounts the provider key into the sidecar only: no app container gets an env var, file or mount of it', async () => {
    const pod = applyPatch(podFixture('app'), (await admit(podFixture('app'))).patch);
    const keyVolumes = (pod.spec!.volumes ?? []).filter((v) => v.secret?.secretName === 'provider-key').map((v) => v.name);
    expect(keyVolumes).toHaveLength(1);
    const sidecar = pod.spec!.initContainers![0]!;
    expect(sidecar).toMatchObject({ name: 'attested-inference-proxy', restartPolicy: 'Always' });
    expect(sidecar.volumeMounts!.map((m) => m.name)).toContain(keyVolumes[0]);
    for (const c of [...pod.spec!.containers, ...pod.spec!.initContainers!.slice(1)]) {
      expect((c.volumeMounts ?? []).map((m) => m.name)).not.toContain(keyVolumes[0]);
      expect(JSON.stringify(c.env ?? [])).not.toContain('provider-key');
      expect(c.envFrom ?? []).toEqual([]);
    }
    expect(pod.spec!.containers[0]!.env).toContainEqual({ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:15080/v1' });
    expect(pod.spec!.containers[1]!.env).toContainEqual({ name: 'OPENAI_BASE_URL', value: 'http://elsewhere/v1' });
  });

  it('mounts the limits store password into the sidecar only, so sidecars share the namespace limits', async () => {
    const shared: InferenceEndpoint = {
      ...endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'provider-key' }, budgets: { namespace: { daily: '10' } }, limitsStore: { redis: { url: 'redis://redis:6379', passwordSecretRef: { name: 'limits-redis' } } } }),
      status: { observedGeneration: 1 },
    };
    const policy = { policy: parsePolicy({ default: { limitsStores: ['redis://redis:6379'] } }, false), proxyImage: image.image, allowDevelopmentTrust: false };
    const pod = applyPatch(podFixture('app'), (await admit(podFixture('app'), { endpoints: [shared], policy })).patch);
    const volume = (pod.spec!.volumes ?? []).find((v) => v.projected?.sources?.some((s) => s.secret?.name === 'limits-redis'));
    expect(volume).toBeDefined();
    expect(pod.spec!.initContainers![0]!.volumeMounts!.map((m) => m.name)).toContain(volume!.name);
    for (const c of [...pod.spec!.containers, ...pod.spec!.initContainers!.slice(1)]) expect((c.volumeMounts ?? []).map((m) => m.name)).not.toContain(volume!.name);
  });

  it('is idempotent: the injected pod, admitted again, is left unchanged', async () => {
    const injected = applyPatch(podFixture('app'), (await admit(podFixture('app'))).patch);
    const again = await admit(injected);
    expect(again.response).toEqual({ uid: 'uid-1', allowed: true });
    expect(again.outcomes[0]).toMatchObject({ result: 'skipped', reason: 'already-injected' });
  });

  it("keeps a pod's own prometheus.io annotations and OPENAI_API_KEY", async () => {
    const pod = podFixture('app');
    pod.metadata!.annotations!['prometheus.io/port'] = '8000';
    pod.spec!.containers[0]!.env!.push({ name: 'OPENAI_API_KEY', value: 'mine' });
    const mutated = applyPatch(pod, (await admit(pod)).patch);
    expect(mutated.metadata!.annotations).toMatchObject({ 'prometheus.io/port': '8000', 'inference.attested.dev/status': 'injected' });
    expect(mutated.metadata!.annotations!['prometheus.io/scrape']).toBeUndefined();
    expect(mutated.spec!.containers[0]!.env!.filter((e) => e.name === 'OPENAI_API_KEY')).toEqual([{ name: 'OPENAI_API_KEY', value: 'mine' }]);
  });

  it('rejects a pod naming a missing endpoint with a clear message, or admits it and says why', async () => {
    const pod = podFixture('app');
    pod.metadata!.annotations!['inference.attested.dev/inject'] = 'nope';
    const rejected = await admit(pod, { failureMode: 'reject' });
    expect(rejected.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(rejected.response.status!.message).toContain('endpoint-not-found');
    expect(rejected.response.status!.message).toContain('"nope"');
    expect(rejected.outcomes[0]).toMatchObject({ result: 'rejected', reason: 'endpoint-not-found' });
    const admitted = await admit(pod, { failureMode: 'admit' });
    expect(admitted.response.allowed).toBe(true);
    expect(admitted.response.warnings?.[0]).toContain('endpoint-not-found');
    expect(admitted.patch).toEqual([{ op: 'add', path: '/metadata/annotations/inference.attested.dev~1status', value: 'skipped:endpoint-not-found' }]);
  });

  it('refuses a pod that shares its process namespace under reject, and admits it without the sidecar under admit: the key never joins it', async () => {
    const pod = podFixture('app');
    pod.spec!.shareProcessNamespace = true;
    const rejected = await admit(pod, { failureMode: 'reject' });
    expect(rejected.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(rejected.response.status!.message).toContain('(shared-process-namespace)');
    expect(rejected.response.status!.message).toContain('spec.shareProcessNamespace');
    expect(rejected.outcomes[0]).toMatchObject({ result: 'rejected', reason: 'shared-process-namespace' });
    const admitted = await admit(pod, { failureMode: 'admit' });
    expect(admitted.response.allowed).toBe(true);
    expect(admitted.patch).toEqual([{ op: 'add', path: '/metadata/annotations/inference.attested.dev~1status', value: 'skipped:shared-process-namespace' }]);
  });

  it("refuses a pod whose app mounts the sidecar's key volume, naming the mount", async () => {
    const pod = podFixture('app');
    pod.spec!.containers[1]!.volumeMounts = [{ name: 'attested-inference-provider-key', mountPath: '/stolen' }];
    const { response, patch } = await admit(pod);
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toContain('(app-mounts-sidecar-volume)');
    expect(response.status!.message).toContain('spec.containers[1].volumeMounts[0].name');
    expect(patch).toEqual([]);
  });

  it("refuses an injected pod a later webhook made unsafe, in either failure mode, since it already holds the key volume", async () => {
    const injected = applyPatch(podFixture('app'), (await admit(podFixture('app'))).patch);
    injected.spec!.shareProcessNamespace = true;
    for (const failureMode of ['reject', 'admit'] as const) {
      const again = await admit(injected, { failureMode });
      expect(again.response).toMatchObject({ allowed: false, status: { code: 403 } });
      expect(again.response.status!.message).toContain('(shared-process-namespace)');
      expect(again.outcomes[0]).toMatchObject({ result: 'rejected', reason: 'shared-process-namespace' });
    }
  });

  it('records an opt-out in the status annotation; leaves pods nobody opted in untouched', async () => {
    const out = podFixture('app');
    out.metadata!.annotations!['inference.attested.dev/inject'] = 'false';
    expect((await admit(out)).patch).toEqual([{ op: 'add', path: '/metadata/annotations/inference.attested.dev~1status', value: 'skipped:opted-out' }]);
    const none = podFixture('app');
    delete none.metadata!.annotations;
    expect((await admit(none)).response).toEqual({ uid: 'uid-1', allowed: true });
  });

  it('marks dry runs so the reporter can skip side effects, and names the controller as the Event subject', async () => {
    const pod = podFixture('app');
    pod.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'app-1', uid: 'rs-uid', controller: true }];
    const { outcomes } = await admit(pod, { dryRun: true });
    expect(outcomes[0]).toMatchObject({ dryRun: true, regarding: { kind: 'ReplicaSet', metadata: { name: 'app-1', uid: 'rs-uid', namespace: 'team-a' } } });
  });

  it('confirms with the API server before refusing for want of an endpoint the cache has not seen, and only then', async () => {
    const outcomes: InjectionOutcome[] = [];
    const calls: string[] = [];
    const confirm = { readNamespace: () => { calls.push('namespace'); return Promise.resolve({ name: 'team-a' }); }, listEndpoints: () => { calls.push('endpoints'); return Promise.resolve([chat]); } };
    const deps = { readNamespace: () => Promise.resolve({ name: 'team-a' }), listEndpoints: () => Promise.resolve([]), confirm, report: (o: InjectionOutcome) => outcomes.push(o) };
    const response = await admitPod({ uid: 'u', namespace: 'team-a', object: podFixture('app') }, deps, { image, failureMode: 'reject' });
    expect(response.allowed).toBe(true);
    expect(outcomes.map((o) => o.reason)).toEqual(['injected']);
    expect(calls).toEqual(['namespace', 'endpoints']);
    calls.length = 0;
    await admitPod({ uid: 'u', namespace: 'team-a', object: podFixture('app') }, { ...deps, listEndpoints: () => Promise.resolve([chat]) }, { image, failureMode: 'reject' });
    expect(calls).toEqual([]);
  });
});

