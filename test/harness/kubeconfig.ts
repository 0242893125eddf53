import { stringify } from 'yaml';
import type { KeyPairPem } from '../../operator/tls/pki.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function kubeconfig(server: string, caPem: string, user: Record<string, string>): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: 'user' } }],
    'current-context': 'local',
  });
}

/** adminKubeconfig renders a kubeconfig that authenticates with a client certificate. */
export function adminKubeconfig(p: { server: string; caPem: string; client: KeyPairPem }): string {
  return kubeconfig(p.server, p.caPem, {
    'client-certificate-data': b64(p.client.certPem),
    'client-key-data': b64(p.client.keyPem),
  });
}

/** tokenKubeconfig renders a kubeconfig that authenticates with a bearer token (e.g. a ServiceAccount's). */
export function tokenKubeconfig(p: { server: string; caPem: string; token: string }): string {
  return kubeconfig(p.server, p.caPem, { token: p.token });
}
