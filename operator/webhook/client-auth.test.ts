import { describe, expect, it } from 'vitest';
import { certificateNames, clientNameAllowed, parseClientNames } from './client-auth.ts';

describe('certificateNames', () => {
  it('lists the subject CN and DNS SANs, not IP or URI SANs', () => {
    expect(certificateNames({ subject: { CN: 'kube-apiserver' }, subjectaltname: 'DNS:apiserver.local, IP Address:10.0.0.1, URI:spiffe://x/y, DNS:b.local' })).toEqual(['kube-apiserver', 'apiserver.local', 'b.local']);
  });
  it('reads several CNs and a certificate without names', () => {
    expect(certificateNames({ subject: { CN: ['a', 'b'] } })).toEqual(['a', 'b']);
    expect(certificateNames({})).toEqual([]);
    expect(certificateNames({ subject: null })).toEqual([]);
  });
});

describe('clientNameAllowed', () => {
  const allowed = ['kube-apiserver-webhook-client'];
  it('accepts a certificate whose CN or DNS SAN is allowed', () => {
    expect(clientNameAllowed({ subject: { CN: 'kube-apiserver-webhook-client' } }, allowed)).toBe(true);
    expect(clientNameAllowed({ subject: { CN: 'other' }, subjectaltname: 'DNS:kube-apiserver-webhook-client' }, allowed)).toBe(true);
  });
  it('refuses other names, near misses and IP SANs', () => {
    expect(clientNameAllowed({ subject: { CN: 'attacker' } }, allowed)).toBe(false);
    expect(clientNameAllowed({ subject: { CN: 'KUBE-APISERVER-WEBHOOK-CLIENT' } }, allowed)).toBe(false);
    expect(clientNameAllowed({ subject: { CN: 'kube-apiserver-webhook-client.evil' } }, allowed)).toBe(false);
    expect(clientNameAllowed({ subjectaltname: 'IP Address:kube-apiserver-webhook-client' }, allowed)).toBe(false);
    expect(clientNameAllowed({ subjectaltname: 'URI:kube-apiserver-webhook-client' }, allowed)).toBe(false);
    expect(clientNameAllowed({}, allowed)).toBe(false);
  });
  it('accepts any certificate the CA signed when no names are configured', () => {
    expect(clientNameAllowed({ subject: { CN: 'anything' } }, [])).toBe(true);
  });
});

describe('parseClientNames', () => {
  it('splits and trims a comma-separated list', () => {
    expect(parseClientNames(' a , b.example:8443,, system:kube-apiserver ')).toEqual(['a', 'b.example:8443', 'system:kube-apiserver']);
    expect(parseClientNames('')).toEqual([]);
  });
  it('refuses wildcards and odd characters, naming the flag', () => {
    expect(() => parseClientNames('*.example')).toThrow(/--webhook-client-names: "\*\.example"/);
    expect(() => parseClientNames('a b')).toThrow(/--webhook-client-names/);
    expect(() => parseClientNames('a,"b"')).toThrow(/--webhook-client-names/);
  });
});
