import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createCertificateAuthority, issueCertificate } from '../../operator/tls/pki.ts';

/** WEBHOOK_CLIENT_NAME is the common name of the client certificate the API server presents to admission webhooks. */
export const WEBHOOK_CLIENT_NAME = 'kube-apiserver-webhook-client';

/** WebhookClientFiles: the CA that signs the API server's webhook client certificate, the pair itself, and the admission configuration naming it. */
export interface WebhookClientFiles {
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly commonName: string;
  readonly admissionConfigFile: string;
}

/**
 * writeWebhookClientAuth makes the API server authenticate to admission webhooks with a client
 * certificate: an AdmissionConfiguration whose webhook plugins name a kubeconfig, whose one user
 * `*` matches every webhook (the test webhooks listen on random loopback ports, so no host:port
 * name is known in advance). See
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#authenticate-apiservers.
 */
export async function writeWebhookClientAuth(dir: string): Promise<WebhookClientFiles> {
  const ca = await createCertificateAuthority('attested-inference-test-webhook-client-ca');
  const client = await issueCertificate(ca, { commonName: WEBHOOK_CLIENT_NAME, usage: 'client' });
  const files = {
    caFile: join(dir, 'webhook-client-ca.crt'),
    caPem: ca.certPem,
    certFile: join(dir, 'webhook-client.crt'),
    keyFile: join(dir, 'webhook-client.key'),
    commonName: WEBHOOK_CLIENT_NAME,
    admissionConfigFile: join(dir, 'admission-config.yaml'),
  };
  const kubeconfigFile = join(dir, 'admission-webhooks.kubeconfig');
  const kubeconfig = { apiVersion: 'v1', kind: 'Config', users: [{ name: '*', user: { 'client-certificate': files.certFile, 'client-key': files.keyFile } }] };
  const plugin = (name: string): unknown => ({ name, configuration: { apiVersion: 'apiserver.config.k8s.io/v1', kind: 'WebhookAdmissionConfiguration', kubeConfigFile: kubeconfigFile } });
  const admission = { apiVersion: 'apiserver.config.k8s.io/v1', kind: 'AdmissionConfiguration', plugins: [plugin('MutatingAdmissionWebhook'), plugin('ValidatingAdmissionWebhook')] };
  await Promise.all([
    writeFile(files.caFile, ca.certPem),
    writeFile(files.certFile, client.certPem),
    writeFile(files.keyFile, client.keyPem, { mode: 0o600 }),
    writeFile(kubeconfigFile, stringify(kubeconfig), { mode: 0o600 }),
    writeFile(files.admissionConfigFile, stringify(admission)),
  ]);
  return files;
}
