import { request } from 'node:https';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyPairPem } from '../tls/pki.ts';
import type { AdmissionRequest } from './admission.ts';
import { startWebhookServer, type ServerClientAuth, type WebhookServer } from './server.ts';

type Answer = { status: number; body: string; connection?: string } | { error: string };

function post(port: number, ca: string, body: unknown, client?: KeyPairPem): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate-pods', method: 'POST', ca, ...(client ? { cert: client.certPem, key: client.keyPem } : {}), timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ...(res.headers.connection === 'close' ? { connection: 'close' } : {}) }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('error', (error) => resolve({ error: error.message }));
    req.end(JSON.stringify(body));
  });
}

function review(namespace: string, objectNamespace?: string): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', namespace, object: { metadata: objectNamespace === undefined ? {} : { namespace: objectNamespace } } } };
}

describe('startWebhookServer', () => {
  let server: WebhookServer | undefined;
  const admitted: AdmissionRequest[] = [];
  afterEach(async () => {
    await server?.close();
    server = undefined;
    admitted.length = 0;
  });

  async function start(clientAuth?: ServerClientAuth): Promise<{ serverCa: CertificateAuthority; port: number }> {
    const serverCa = await createCertificateAuthority('webhook-ca');
    const certificate = await issueCertificate(serverCa, { commonName: 'webhook', usage: 'server', ipAddresses: ['127.0.0.1'] });
    server = await startWebhookServer(
      { admit: (r) => { admitted.push(r); return Promise.resolve({ uid: r.uid, allowed: true }); }, logger: pino({ level: 'silent' }) },
      { host: '127.0.0.1', port: 0, certificate, ...(clientAuth ? { clientAuth } : {}) },
    );
    return { serverCa, port: server.port };
  }

  describe('with client authentication', () => {
    it('refuses at the handshake a caller with no certificate or one from another CA, and never admits', async () => {
      const clientCa = await createCertificateAuthority('api-server-client-ca');
      const { serverCa, port } = await start({ caPem: clientCa.certPem, allowedNames: [] });
      expect(await post(port, serverCa.certPem, review('a'))).toHaveProperty('error');
      const other = await createCertificateAuthority('other-ca');
      const stranger = await issueCertificate(other, { commonName: 'kube-apiserver-webhook-client', usage: 'client' });
      expect(await post(port, serverCa.certPem, review('a'), stranger)).toHaveProperty('error');
      expect(admitted).toEqual([]);
    });

    it('answers 403 to a certificate from the CA that names no allowed caller, 200 to one that does', async () => {
      const clientCa = await createCertificateAuthority('api-server-client-ca');
      const { serverCa, port } = await start({ caPem: clientCa.certPem, allowedNames: ['kube-apiserver-webhook-client'] });
      const wrong = await issueCertificate(clientCa, { commonName: 'some-other-client', usage: 'client' });
      expect(await post(port, serverCa.certPem, review('a'), wrong)).toEqual({ status: 403, body: 'client certificate does not name an allowed caller\n' });
      expect(admitted).toEqual([]);
      const bySan = await issueCertificate(clientCa, { commonName: 'x', dnsNames: ['kube-apiserver-webhook-client'], usage: 'client' });
      expect(await post(port, serverCa.certPem, review('a'), bySan)).toMatchObject({ status: 200 });
      expect(admitted).toHaveLength(1);
    });

    it('keeps requiring the client certificate after the serving certificate is reloaded', async () => {
      const clientCa = await createCertificateAuthority('api-server-client-ca');
      const { serverCa, port } = await start({ caPem: clientCa.certPem, allowedNames: [] });
      server!.reload(await issueCertificate(serverCa, { commonName: 'webhook-2', usage: 'server', ipAddresses: ['127.0.0.1'] }));
      expect(await post(port, serverCa.certPem, review('a'))).toHaveProperty('error');
      const client = await issueCertificate(clientCa, { commonName: 'kube-apiserver-webhook-client', usage: 'client' });
      expect(await post(port, serverCa.certPem, review('a'), client)).toMatchObject({ status: 200 });
    });
  });

  describe('without client authentication', () => {
    it('admits any caller, but refuses a review whose object namespace is not the request namespace', async () => {
      const { serverCa, port } = await start();
      expect(await post(port, serverCa.certPem, review('a', 'a'))).toMatchObject({ status: 200 });
      expect(await post(port, serverCa.certPem, review('a'))).toMatchObject({ status: 200 });
      expect(await post(port, serverCa.certPem, review('a', 'b'))).toEqual({ status: 400, body: 'request.namespace and request.object.metadata.namespace disagree\n' });
      expect(admitted.map((r) => r.namespace)).toEqual(['a', 'a']);
    });
  });

  describe('draining', () => {
    it('keeps answering, and ends each connection after its answer so callers move to another replica', async () => {
      const { serverCa, port } = await start();
      expect(await post(port, serverCa.certPem, review('a'))).not.toHaveProperty('connection', 'close');
      server!.drain();
      expect(await post(port, serverCa.certPem, review('a'))).toMatchObject({ status: 200, connection: 'close' });
      expect(admitted).toHaveLength(2);
    });
  });
});
