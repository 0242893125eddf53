import { request } from 'node:https';
import type { TestCluster } from '../cluster.ts';
import type { KeyPairPem } from '../../../operator/tls/pki.ts';

/** ATTACKER_TEXT is what a forged review puts where Event text comes from (owner and pod names). */
export const ATTACKER_TEXT = 'security-notice-call-attacker-example';

/** DirectAnswer is what a caller talking to the webhook straight away gets: a status and body, or the transport error. */
export type DirectAnswer = { readonly status: number; readonly body: string } | { readonly error: string };

/** forgedReview is an AdmissionReview as a pod in any namespace could write it: a pod of `namespace` owned by attacker-named objects. */
export function forgedReview(namespace: string, objectNamespace = namespace): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'forged',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace,
      operation: 'CREATE',
      object: {
        metadata: {
          generateName: `${ATTACKER_TEXT}-`,
          namespace: objectNamespace,
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: ATTACKER_TEXT, uid: '00000000-0000-0000-0000-000000000000', controller: true }],
        },
        spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.local/app:1' }] },
      },
    },
  };
}

/** servingCa is the CA bundle the webhook's serving certificate chains to (what the API server trusts), from its Secret. */
export async function servingCa(cluster: TestCluster, system: string): Promise<Buffer> {
  const secret = await cluster.core.readNamespacedSecret({ namespace: system, name: 'attested-inference-webhook-tls' });
  return Buffer.from(secret.data!['ca-bundle.crt']!, 'base64');
}

/** sendDirect posts `review` to the webhook on loopback as a plain HTTPS client, with `client` as its certificate when given. */
export function sendDirect(p: { port: number; ca: Buffer; review: unknown; client?: KeyPairPem }): Promise<DirectAnswer> {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port: p.port,
      path: '/mutate-pods',
      method: 'POST',
      ca: p.ca,
      ...(p.client ? { cert: p.client.certPem, key: p.client.keyPem } : {}),
      headers: { 'content-type': 'application/json' },
      timeout: 10_000,
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('error', (error) => resolve({ error: error.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(p.review));
  });
}
