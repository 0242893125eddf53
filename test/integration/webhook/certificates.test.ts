import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import { appNamespace, podWith, readyEndpoint, startTestWebhook, waitForInjection, type TestWebhook } from './support.ts';

describe('certificate rotation while pods are being created', () => {
  const cluster = testCluster();
  let ns: Awaited<ReturnType<typeof appNamespace>>;
  let webhook: TestWebhook;

  beforeAll(async () => {
    await installCrd(cluster);
    ns = await appNamespace(cluster, 'rotate');
    await readyEndpoint(cluster, ns.name, 'chat');
    webhook = await startTestWebhook(cluster, { name: 'rotate', propagationMs: 5000 });
    await waitForInjection(cluster, ns.name, podWith('probe'));
  });
  afterAll(async () => {
    await webhook.remove();
    await ns.remove();
  });

  const secret = async (): Promise<Record<string, string>> => {
    const data = (await cluster.core.readNamespacedSecret({ namespace: webhook.system, name: 'attested-inference-webhook-tls' })).data ?? {};
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };

  it('rotates the serving certificate and the CA without a failed admission', async () => {
    const first = await secret();
    const state = { stop: false };
    const failures: string[] = [];
    let created = 0;
    const loop = (async (): Promise<void> => {
      for (let i = 0; !state.stop; i++) {
        try {
          const pod = await cluster.core.createNamespacedPod({ namespace: ns.name, body: podWith(`loop-${String(i)}`) });
          if (pod.metadata?.annotations?.['inference.attested.dev/status'] !== 'injected') failures.push(`pod ${String(i)} not injected`);
          created += 1;
        } catch (error) {
          failures.push(String(error));
        }
      }
    })();
    const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    await pause(500);
    await webhook.certificates.sync('serving');
    await pause(500);
    await webhook.certificates.sync('serving');
    const servingRotated = await secret();
    expect(servingRotated['tls.crt']).not.toBe(first['tls.crt']);
    expect(servingRotated['ca.crt']).toBe(first['ca.crt']);

    await webhook.certificates.sync('authority');
    const caAdded = await secret();
    expect(caAdded['ca.crt']).not.toBe(first['ca.crt']);
    expect(caAdded['tls.crt']).toBe(servingRotated['tls.crt']);
    expect(caAdded['ca-bundle.crt']).toContain(first['ca.crt']!.trim());
    expect(caAdded['ca-bundle.crt']).toContain(caAdded['ca.crt']!.trim());
    await pause(5500);
    await webhook.certificates.sync();
    const moved = await secret();
    expect(moved['tls.crt']).not.toBe(caAdded['tls.crt']);
    expect(moved['ca-bundle.crt']!.trim()).toBe(caAdded['ca.crt']!.trim());
    // The server presents the new certificate on new connections (setSecureContext).
    const presented = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: webhook.port, ca: moved['ca-bundle.crt'], servername: undefined }, () => {
        resolve(socket.getPeerCertificate().raw);
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(presented.equals(new X509Certificate(moved['tls.crt']!).raw)).toBe(true);
    await pause(1500);
    state.stop = true;
    await loop;
    expect(failures).toEqual([]);
    expect(created).toBeGreaterThan(10);
  });
});
