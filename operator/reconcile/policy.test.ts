import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import type { InferenceEndpoint, InferenceEndpointStatus } from '../api/v1alpha1/types.ts';
import { AttestationWatcher } from '../attestation/watcher.ts';
import { EndpointReconciler, type EndpointReconcilerDeps } from './endpoint.ts';
import type { ClusterPort } from './port.ts';

const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';

/** memoryPort is a ClusterPort over one endpoint, remembering what was applied and which Events were recorded. */
function memoryPort(object: InferenceEndpoint): ClusterPort & { applied: KubernetesObject[]; deleted: KubernetesObject[]; events: { type: string; reason: string; message: string }[]; status?: InferenceEndpointStatus } {
  const applied: KubernetesObject[] = [];
  const port = {
    applied,
    deleted: [] as KubernetesObject[],
    events: [] as { type: string; reason: string; message: string }[],
    status: undefined as InferenceEndpointStatus | undefined,
    getEndpoint: () => Promise.resolve(object),
    getDeployment: () => Promise.resolve<V1Deployment | undefined>(applied.find((o) => o.kind === 'Deployment')),
    liveMetadata: (o: KubernetesObject) => Promise.resolve(applied.find((a) => a.kind === o.kind && a.metadata?.name === o.metadata?.name)?.metadata),
    readMetadata: (o: KubernetesObject) => port.liveMetadata(o),
    serviceSlices: () => Promise.resolve([]),
    create: (o: KubernetesObject) => port.apply(o),
    deleteChild: (o: KubernetesObject, uid: string) => {
      port.deleted.push({ ...o, metadata: { name: o.metadata?.name, uid } });
      return Promise.resolve();
    },
    apply: (o: KubernetesObject) => {
      applied.push(o);
      return Promise.resolve({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata?.name, resourceVersion: '1' } });
    },
    mountFailures: () => Promise.resolve([]),
    writeStatus: (_e: InferenceEndpoint, status: InferenceEndpointStatus) => {
      port.status = status;
      return Promise.resolve();
    },
    event: (_e: InferenceEndpoint, type: string, reason: string, message: string) => void port.events.push({ type, reason, message }),
  };
  return port;
}

const OPTIONS = { image: { image: 'registry.local/attested-inference-proxy:1', pullPolicy: 'IfNotPresent' as const }, tokenReviewClusterRole: 'attested-inference-tokenreview', apiServerPorts: [443] };

function reconcilerFor(object: InferenceEndpoint, extra: Partial<EndpointReconcilerDeps> = {}): { reconciler: EndpointReconciler; port: ReturnType<typeof memoryPort> } {
  const port = memoryPort(object);
  const watcher = new AttestationWatcher({ allowDevelopmentTrust: false, onUpdate: () => undefined, createVerifier: () => ({ verify: () => Promise.reject(new Error('must not verify')) }) });
  return { reconciler: new EndpointReconciler({ port, watcher, now: () => new Date('2026-01-01T00:00:00Z'), options: OPTIONS, ...extra }), port };
}

const developmentEndpoint = endpoint('dev', {
  provider: 'tinfoil',
  upstream: { url: 'http://upstream.team-a.svc:8080' },
  apiKeySecretRef: { name: 'provider-key' },
  attestation: { trust: 'Development', developmentPublicKey: PEM, bundleUrl: 'http://upstream.team-a.svc:8080' },
});

describe('the reconciler under the admin policy', () => {
  it('renders no child for a development endpoint while development trust is off, and says so truthfully', async () => {
    const { reconciler, port } = reconcilerFor(developmentEndpoint);
    await reconciler.reconcile('team-a/dev');
    expect(port.applied.map((o) => `${String(o.kind)}/${o.metadata?.name ?? ''}`)).toEqual([]);
    const degraded = port.status?.conditions?.find((c) => c.type === 'Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: 'PolicyViolation' });
    expect(degraded?.message).toContain('spec.attestation.trust "Development" is not allowed by policy attested-inference-policy (developmentTrust)');
    expect(port.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
    expect(port.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'PolicyViolation' }));
  });

  it('renders no child for a tenant proxy image', async () => {
    const { reconciler, port } = reconcilerFor(endpoint('img', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, proxy: { image: 'evil.example/proxy:1' } }));
    await reconciler.reconcile('team-a/img');
    expect(port.applied).toEqual([]);
    expect(port.status?.conditions?.find((c) => c.type === 'Degraded')?.message).toContain('spec.proxy.image "evil.example/proxy:1"');
  });
});

describe('an endpoint that becomes refused', () => {
  it('has the children it owns deleted, and only those', async () => {
    const owned = (kind: string, name: string, uid: string): KubernetesObject => ({ apiVersion: 'v1', kind, metadata: { name, uid: `child-${name}`, ownerReferences: [{ apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint', name: 'dev', uid, controller: true }] } });
    const { reconciler, port } = reconcilerFor(developmentEndpoint);
    port.applied.push(owned('Deployment', 'dev-proxy', 'uid-dev'), owned('ConfigMap', 'dev-proxy-config', 'uid-dev'), owned('Service', 'dev', 'uid-someone-else'));
    await reconciler.reconcile('team-a/dev');
    expect(port.deleted.map((o) => `${String(o.kind)}/${String(o.metadata?.name)}/${String(o.metadata?.uid)}`).sort()).toEqual(['ConfigMap/dev-proxy-config/child-dev-proxy-config', 'Deployment/dev-proxy/child-dev-proxy']);
    expect(port.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'PolicyViolation', message: expect.stringContaining('Deleted Deployment/dev-proxy') as unknown }));
  });
});
