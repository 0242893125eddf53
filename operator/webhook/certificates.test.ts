import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROTATION, rotate, type WebhookCertificates } from './certificates.ts';

const identity = { dnsNames: ['injector.system.svc'], ipAddresses: [] };
const DAY = 86_400_000;
const at = (ms: number): Date => new Date(Date.UTC(2026, 0, 1) + ms);
const issuer = (c: WebhookCertificates): boolean => new X509Certificate(c.serving.certPem).verify(new X509Certificate(c.ca.certPem).publicKey);

describe('webhook certificate rotation', () => {
  it('bootstraps a CA and a serving certificate for the Service name, then leaves them alone', async () => {
    const first = await rotate(undefined, { now: at(0), policy: DEFAULT_ROTATION, identity });
    expect(first.changed).toBe(true);
    expect(first.next.bundle).toEqual([first.next.ca.certPem]);
    expect(issuer(first.next)).toBe(true);
    expect(new X509Certificate(first.next.serving.certPem).subjectAltName).toContain('DNS:injector.system.svc');
    const again = await rotate(first.next, { now: at(DAY), policy: DEFAULT_ROTATION, identity });
    expect(again.changed).toBe(false);
    expect(again.next).toEqual(first.next);
  });

  it('renews the serving certificate before it ends, from the same CA', async () => {
    const { next } = await rotate(undefined, { now: at(0), policy: DEFAULT_ROTATION, identity });
    const later = await rotate(next, { now: at(61 * DAY), policy: DEFAULT_ROTATION, identity });
    expect(later.changed).toBe(true);
    expect(later.next.serving.certPem).not.toBe(next.serving.certPem);
    expect(later.next.ca).toEqual(next.ca);
    expect(later.next.bundle).toEqual(next.bundle);
  });

  it('adds a new CA beside the old long before the old ends, and moves the serving certificate once the bundle has spread', async () => {
    const { next: first } = await rotate(undefined, { now: at(0), policy: DEFAULT_ROTATION, identity });
    const t = 3290 * DAY;
    // The serving certificate has been renewed all along; the CA now has less than a year left.
    const { next: start } = await rotate(first, { now: at(t - 10 * DAY), policy: DEFAULT_ROTATION, identity });
    expect(start.ca).toEqual(first.ca);
    const step1 = await rotate(start, { now: at(t), policy: DEFAULT_ROTATION, identity });
    expect(step1.next.bundle).toEqual([step1.next.ca.certPem, start.ca.certPem]);
    expect(step1.next.serving).toEqual(start.serving);
    const step2 = await rotate(step1.next, { now: at(t + 1000), policy: DEFAULT_ROTATION, identity });
    expect(step2.changed).toBe(false);
    const step3 = await rotate(step2.next, { now: at(t + DEFAULT_ROTATION.propagationMs), policy: DEFAULT_ROTATION, identity });
    expect(issuer(step3.next)).toBe(true);
    expect(step3.next.bundle).toEqual([step1.next.ca.certPem]);
  });

  it('reissues the serving certificate when the webhook is reached by another name', async () => {
    const { next } = await rotate(undefined, { now: at(0), policy: DEFAULT_ROTATION, identity });
    const moved = await rotate(next, { now: at(1000), policy: DEFAULT_ROTATION, identity: { dnsNames: [], ipAddresses: ['127.0.0.1'] } });
    expect(moved.changed).toBe(true);
    expect(new X509Certificate(moved.next.serving.certPem).subjectAltName).toBe('IP Address:127.0.0.1');
    expect((await rotate(moved.next, { now: at(2000), policy: DEFAULT_ROTATION, identity: { dnsNames: [], ipAddresses: ['127.0.0.1'] } })).changed).toBe(false);
  });

  it('rotates on demand', async () => {
    const { next } = await rotate(undefined, { now: at(0), policy: DEFAULT_ROTATION, identity });
    const serving = await rotate(next, { now: at(1000), policy: DEFAULT_ROTATION, identity, force: 'serving' });
    expect(serving.next.serving.certPem).not.toBe(next.serving.certPem);
    expect(serving.next.ca).toEqual(next.ca);
    const authority = await rotate(next, { now: at(1000), policy: DEFAULT_ROTATION, identity, force: 'authority' });
    expect(authority.next.bundle).toHaveLength(2);
    expect(authority.next.serving).toEqual(next.serving);
  });
});
