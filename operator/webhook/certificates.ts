import { webcrypto } from 'node:crypto';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyPairPem } from '../tls/pki.ts';
import * as x509 from '@peculiar/x509';

const DAY_MS = 86_400_000;

/** WebhookCertificates are the webhook's TLS material: the signing CA, the serving pair and the bundle the API server trusts. */
export interface WebhookCertificates {
  readonly ca: KeyPairPem;
  /** caCreatedAt is when `ca` was made, so the serving certificate moves to it only after the bundle with it has spread. */
  readonly caCreatedAt: string;
  readonly serving: KeyPairPem;
  /** bundle is the PEM certificates of every CA the API server should trust now (the MutatingWebhookConfiguration's caBundle). */
  readonly bundle: readonly string[];
}

/** RotationPolicy: lifetimes and how early each certificate is replaced. */
export interface RotationPolicy {
  readonly caValidDays: number;
  /** caRenewBeforeDays is long before the CA's end, and longer than a serving certificate lives, so the old CA outlives what it signed. */
  readonly caRenewBeforeDays: number;
  readonly servingValidDays: number;
  readonly servingRenewBeforeDays: number;
  /** propagationMs is how long a new CA sits in the bundle before it signs the serving certificate (the API server watches the configuration). */
  readonly propagationMs: number;
}

export const DEFAULT_ROTATION: RotationPolicy = { caValidDays: 3650, caRenewBeforeDays: 365, servingValidDays: 90, servingRenewBeforeDays: 30, propagationMs: 120_000 };

/** ServingIdentity names the serving certificate: the Service's DNS names, or a loopback IP for local testing. */
export interface ServingIdentity {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** Force asks for a rotation now, whatever the dates say (operators' and tests' lever). */
export type Force = 'serving' | 'authority';

/** loadAuthority turns a stored CA back into one that can sign. */
export async function loadAuthority(pair: KeyPairPem): Promise<CertificateAuthority> {
  const cert = new x509.X509Certificate(pair.certPem);
  const der: ArrayBuffer = x509.PemConverter.decodeFirst(pair.keyPem);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', cert.publicKey.rawData, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
  return { certPem: pair.certPem, keyPem: pair.keyPem, cert, keys: { privateKey, publicKey } };
}

function remainingMs(pem: string, now: Date): number {
  return new x509.X509Certificate(pem).notAfter.getTime() - now.getTime();
}

async function signedBy(leafPem: string, caPem: string): Promise<boolean> {
  return new x509.X509Certificate(leafPem).verify({ publicKey: new x509.X509Certificate(caPem), signatureOnly: true });
}

async function issueServing(ca: KeyPairPem, identity: ServingIdentity, policy: RotationPolicy, now: Date): Promise<KeyPairPem> {
  return issueCertificate(await loadAuthority(ca), { commonName: identity.dnsNames[0] ?? identity.ipAddresses[0] ?? 'webhook', dnsNames: identity.dnsNames, ipAddresses: identity.ipAddresses, usage: 'server', validDays: policy.servingValidDays }, now);
}

interface Step {
  readonly now: Date;
  readonly policy: RotationPolicy;
  readonly identity: ServingIdentity;
  readonly force?: Force;
}

async function nextAuthority(current: WebhookCertificates | undefined, step: Step): Promise<{ ca: KeyPairPem; caCreatedAt: string; fresh: boolean }> {
  const due = current === undefined || step.force === 'authority' || remainingMs(current.ca.certPem, step.now) < step.policy.caRenewBeforeDays * DAY_MS;
  if (!due) return { ca: current.ca, caCreatedAt: current.caCreatedAt, fresh: false };
  const ca = await createCertificateAuthority('attested-inference-webhook-ca', { validDays: step.policy.caValidDays, now: step.now });
  return { ca: { certPem: ca.certPem, keyPem: ca.keyPem }, caCreatedAt: step.now.toISOString(), fresh: true };
}

/** namesMatch: the serving certificate still names how the API server reaches the webhook (a new Service name or URL needs a new one). */
function namesMatch(pem: string, identity: ServingIdentity): boolean {
  const names = (new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? []).map((n) => `${n.type}:${n.value}`);
  return [...identity.dnsNames.map((d) => `dns:${d}`), ...identity.ipAddresses.map((ip) => `ip:${ip}`)].every((n) => names.includes(n));
}

async function servingDue(current: WebhookCertificates, bundle: readonly string[], ca: { ca: KeyPairPem; caCreatedAt: string }, step: Step): Promise<boolean> {
  if (step.force === 'serving' || remainingMs(current.serving.certPem, step.now) < step.policy.servingRenewBeforeDays * DAY_MS) return true;
  if (!namesMatch(current.serving.certPem, step.identity)) return true;
  const trusted = await Promise.all(bundle.map((pem) => signedBy(current.serving.certPem, pem)));
  if (!trusted.some(Boolean)) return true;
  const spread = step.now.getTime() - Date.parse(ca.caCreatedAt) >= step.policy.propagationMs;
  return spread && !(await signedBy(current.serving.certPem, ca.ca.certPem));
}

/**
 * rotate decides the next certificates from the stored ones: a new CA long before the old one
 * ends (added to the bundle beside the old, which keeps verifying the current serving
 * certificate), a serving certificate before its end or once a new CA has had time to reach the
 * API server, and a bundle pruned to CAs that are current or still vouch for the serving
 * certificate. It returns `changed: false` when nothing is due.
 */
export async function rotate(current: WebhookCertificates | undefined, step: Step): Promise<{ next: WebhookCertificates; changed: boolean }> {
  const authority = await nextAuthority(current, step);
  const previous = (current?.bundle ?? []).filter((pem) => pem !== authority.ca.certPem && remainingMs(pem, step.now) > 0);
  const bundle = [authority.ca.certPem, ...previous];
  const reissue = current === undefined || (authority.fresh && previous.length === 0) || (await servingDue(current, bundle, authority, step));
  const serving = reissue ? await issueServing(authority.ca, step.identity, step.policy, step.now) : current.serving;
  const vouching = await Promise.all(previous.map(async (pem) => ((await signedBy(serving.certPem, pem)) ? pem : undefined)));
  const next: WebhookCertificates = { ...authority, serving, bundle: [authority.ca.certPem, ...vouching.filter((p): p is string => p !== undefined)] };
  const changed = current === undefined || next.serving !== current.serving || next.ca.certPem !== current.ca.certPem || next.bundle.join('\n') !== current.bundle.join('\n');
  return { next: { ca: next.ca, caCreatedAt: next.caCreatedAt, serving: next.serving, bundle: next.bundle }, changed };
}
