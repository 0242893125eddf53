import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, createSigningKeyPair, issueCertificate } from './pki.ts';

describe('pki', () => {
  it('issues a server certificate that chains to its CA and names its hosts', async () => {
    const ca = await createCertificateAuthority('test-ca');
    const leaf = await issueCertificate(ca, { commonName: 'svc', usage: 'server', dnsNames: ['svc.ns.svc'], ipAddresses: ['127.0.0.1'] });
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.checkHost('svc.ns.svc')).toBe('svc.ns.svc');
    expect(cert.checkHost('other.ns.svc')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
  });

  it('puts organizations in the subject of client certificates (Kubernetes groups)', async () => {
    const ca = await createCertificateAuthority('test-ca');
    const client = await issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
    const cert = new X509Certificate(client.certPem);
    expect(cert.subject.split('\n')).toEqual(['CN=admin', 'O=system:masters']);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('does not chain a certificate to another CA', async () => {
    const ca = await createCertificateAuthority('one');
    const other = await createCertificateAuthority('two');
    const leaf = new X509Certificate((await issueCertificate(ca, { commonName: 'x', usage: 'both' })).certPem);
    expect(leaf.verify(new X509Certificate(other.certPem).publicKey)).toBe(false);
  });

  it('honours the validity window it is given', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const ca = await createCertificateAuthority('ca', { validDays: 10, now });
    const cert = new X509Certificate(ca.certPem);
    expect(new Date(cert.validTo).getTime() - now.getTime()).toBe(10 * 86_400_000);
    expect(new Date(cert.validFrom).getTime()).toBeLessThan(now.getTime());
  });

  it('makes signing key pairs whose halves match', async () => {
    const pair = await createSigningKeyPair();
    const data = Buffer.from('token');
    const signature = sign('sha256', data, createPrivateKey(pair.privateKeyPem));
    expect(verify('sha256', data, createPublicKey(pair.publicKeyPem), signature)).toBe(true);
  });
});
