import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AdmissionregistrationV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate } from '../../../operator/tls/pki.ts';
import { waitFor } from '../../harness/processes.ts';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { appNamespace, failureOf, metricValue, podWith, readyEndpoint, startTestWebhook, waitForInjection, type TestWebhook } from './support.ts';

/** LaterWebhook is another mutating webhook, run after the injector, that changes what it injected. */
interface LaterWebhook {
  readonly server: Server;
  readonly configurationName: string;
}

/**
 * startLaterWebhook serves a mutating webhook on loopback that, for a pod already carrying the
 * sidecar, adds `shareProcessNamespace: true`: what another admission controller of the cluster
 * could do after the injector. Its configuration's name sorts after the injector's (the API
 * server calls configurations in name order), and it matches only `namespace`.
 */
async function startLaterWebhook(cluster: ReturnType<typeof testCluster>, namespace: string): Promise<LaterWebhook> {
  const ca = await createCertificateAuthority('later-webhook-ca');
  const serving = await issueCertificate(ca, { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const review = JSON.parse(body) as { request: { uid: string; object: V1Pod } };
      const injected = (review.request.object.spec?.initContainers ?? []).some((c) => c.name === 'attested-inference-proxy');
      const patch = injected ? [{ op: 'add', path: '/spec/shareProcessNamespace', value: true }] : [];
      const response = { uid: review.request.uid, allowed: true, ...(patch.length > 0 ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}) };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const configurationName = `zz-later-${namespace}`;
  await cluster.kc.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
    body: {
      metadata: { name: configurationName },
      webhooks: [{
        name: 'later.example.test',
        clientConfig: { url: `https://127.0.0.1:${String(port)}/mutate`, caBundle: Buffer.from(ca.certPem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 5,
        reinvocationPolicy: 'Never',
      }],
    },
  });
  return { server, configurationName };
}

describe('a pod another webhook changes after injection', () => {
  const cluster = testCluster();
  let ns: Awaited<ReturnType<typeof appNamespace>>;
  let webhook: TestWebhook;
  let later: LaterWebhook | undefined;

  beforeAll(async () => {
    await installCrd(cluster);
    ns = await appNamespace(cluster, 'reinvoke');
    await readyEndpoint(cluster, ns.name, 'chat');
    // `admit` would let a pod without the sidecar through; this pod already holds the key volume.
    webhook = await startTestWebhook(cluster, { name: 'reinvoke', failureMode: 'admit' });
    await waitForInjection(cluster, ns.name, podWith('probe'));
    later = await startLaterWebhook(cluster, ns.name);
  });
  afterAll(async () => {
    if (later) {
      await cluster.kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: later.configurationName }).catch(() => undefined);
      later.server.close();
    }
    await webhook.remove();
    await ns.remove();
  });

  it('is refused when re-invoked on the injected pod that now shares its process namespace, even in admit mode', async () => {
    const create = (name: string, dryRun: boolean): Promise<V1Pod> => cluster.core.createNamespacedPod({ namespace: ns.name, body: podWith(name), ...(dryRun ? { dryRun: 'All' } : {}) });
    // The API server picks up the new configuration within a moment: a dry run is refused, or comes
    // back sharing its process namespace, once it has.
    await waitFor('the later webhook to be called', () => create('probe-later', true).then((p) => p.spec?.shareProcessNamespace === true, () => true), { timeoutMs: 30_000, intervalMs: 200 });
    const failure = await failureOf(create('shared', false));
    expect.soft(failure).toContain('attested-inference sidecar injection refused the pod (shared-process-namespace)');
    expect.soft(failure).toContain('spec.shareProcessNamespace');
    const stored = await cluster.core.readNamespacedPod({ namespace: ns.name, name: 'shared' }).catch(() => undefined);
    expect(stored?.spec && { shareProcessNamespace: stored.spec.shareProcessNamespace, volumes: stored.spec.volumes?.map((v) => v.name) }).toBeUndefined();
    expect(await metricValue(webhook.registry, 'rejected', 'shared-process-namespace')).toBeGreaterThanOrEqual(1);
  });
});
