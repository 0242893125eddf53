import type { E2e, KubeObject } from './kube.ts';
import { SIM_URL } from './world.ts';

/** PRICES make cost checkable by hand: 1 USD per million input tokens, 2 per million output tokens. */
export const PRICES = { currency: 'USD', models: { 'llama3-3-70b': { input: '1', output: '2' } } };

/** endpointManifest is a Tinfoil endpoint on the in-cluster simulator with development trust. */
export function endpointManifest(name: string, namespace: string, publicKeyPem: string, attestation: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'inference.attested.dev/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: { name, namespace },
    spec: {
      provider: 'tinfoil',
      upstream: { url: SIM_URL },
      apiKeySecretRef: { name: 'provider-key', key: 'api-key' },
      replicas: 2,
      attestation: { trust: 'Development', developmentPublicKey: publicKeyPem, bundleUrl: SIM_URL, recheckInterval: '10s', ...attestation },
      prices: PRICES,
    },
  };
}

/** proxySelector is the label selector of an endpoint's proxy pods. */
export function proxySelector(endpoint: string): string {
  return `app.kubernetes.io/name=attested-inference-proxy,app.kubernetes.io/instance=${endpoint}`;
}

/**
 * keySecret is the provider key Secret. `data`, not `stringData`: server-side apply does not
 * update a Secret from a changed `stringData`.
 */
export function keySecret(namespace: string, key: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'provider-key', namespace }, data: { 'api-key': Buffer.from(key).toString('base64') } };
}

/** namespaceWithKey creates a namespace holding the provider key Secret. */
export async function namespaceWithKey(k: E2e, namespace: string, key: string, labels: Record<string, string> = {}): Promise<void> {
  await k.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } }, keySecret(namespace, key)]);
}

/** EndpointObject is an InferenceEndpoint as read back. */
export interface EndpointObject extends KubeObject {
  readonly status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }[];
    url?: string;
    readyReplicas?: number;
    attestation?: { releaseDigest?: string; lastRollout?: { reason: string; fromDigest?: string; toDigest?: string } };
  };
}

/** getEndpoint reads an InferenceEndpoint. */
export function getEndpoint(k: E2e, namespace: string, name: string): Promise<EndpointObject> {
  return k.json<EndpointObject>(['-n', namespace, 'get', 'inferenceendpoint', name]);
}

/** waitReady waits with `kubectl wait --for=condition=Ready`, as a user would. */
export async function waitReady(k: E2e, namespace: string, name: string): Promise<void> {
  await k.run(['-n', namespace, 'wait', '--for=condition=Ready', `inferenceendpoint/${name}`, '--timeout=240s']);
}

/** metricSum sums the samples of `name` whose labels include every `labels` pair. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** podMetrics reads a proxy pod's /metrics through the API server's pod proxy. */
export function podMetrics(k: E2e, namespace: string, pod: string, port = 9090): Promise<string> {
  return k.run(['get', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}:${String(port)}/proxy/metrics`]);
}

/** podAttestation reads a proxy pod's /admin/attestation through the API server's pod proxy. */
export async function podAttestation(k: E2e, namespace: string, pod: string, port = 9090): Promise<{ status: string; releaseDigest?: string; error?: unknown }> {
  return JSON.parse(await k.run(['get', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}:${String(port)}/proxy/admin/attestation`])) as { status: string; releaseDigest?: string };
}

/** imagePullEvents lists Pod events that say an image is being pulled (nothing may be pulled here). */
export async function imagePullEvents(k: E2e): Promise<string[]> {
  const events = await k.json<{ items: { involvedObject: { kind: string; name: string }; reason: string; message: string }[] }>(['get', 'events', '-A']);
  return events.items
    .filter((e) => e.involvedObject.kind === 'Pod' && /pull/i.test(e.reason) && /pulling|pull image|ErrImagePull|back-off pulling/i.test(e.message))
    .map((e) => `${e.involvedObject.name}: ${e.reason}: ${e.message}`);
}
