// @peculiar/x509 resolves its ASN.1 converters through tsyringe, which needs the metadata polyfill first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** KeyPairPem is a certificate and its private key, both PEM-encoded. */
export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** CertificateAuthority can sign leaf certificates; `pem` is what clients trust. */
export interface CertificateAuthority extends KeyPairPem {
  readonly keys: CryptoKeyPair;
  readonly cert: x509.X509Certificate;
}

/** LeafOptions names a leaf certificate and what it may be used for. */
export interface LeafOptions {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: 'server' | 'client' | 'both';
  readonly validDays?: number;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CLOCK_SKEW_MS = 5 * 60_000;

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serialNumber(): string {
  // RFC 5280 §4.1.2.2: positive, at most 20 octets; a leading 01 keeps it positive.
  return '01' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex');
}

function validity(days: number, now: Date): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - CLOCK_SKEW_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

function distinguishedName(commonName: string, organizations: readonly string[] = []): string {
  const escape = (v: string): string => v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
  return [`CN=${escape(commonName)}`, ...organizations.map((o) => `O=${escape(o)}`)].join(', ');
}

/** createCertificateAuthority makes a self-signed CA valid for `validDays` (default ten years). */
export async function createCertificateAuthority(
  commonName: string,
  options: { validDays?: number; now?: Date } = {},
): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(commonName),
    ...validity(options.validDays ?? 3650, options.now ?? new Date()),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, cert, certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

function extendedUsages(usage: LeafOptions['usage']): string[] {
  const server = x509.ExtendedKeyUsage.serverAuth;
  const client = x509.ExtendedKeyUsage.clientAuth;
  return usage === 'both' ? [server, client] : [usage === 'server' ? server : client];
}

function subjectAltNames(options: LeafOptions): x509.Extension[] {
  const names = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  return names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)];
}

/** issueCertificate signs a leaf certificate (server, client or both) with `ca`. */
export async function issueCertificate(
  ca: CertificateAuthority,
  options: LeafOptions,
  now: Date = new Date(),
): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: distinguishedName(options.commonName, options.organizations),
    issuer: ca.cert.subject,
    ...validity(options.validDays ?? 365, now),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(extendedUsages(options.usage)),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
      ...subjectAltNames(options),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** createSigningKeyPair makes a bare key pair in PEM (PKCS#8 private, SPKI public), e.g. for service-account tokens. */
export async function createSigningKeyPair(): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const keys = await generateKeys();
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  return { privateKeyPem: await privateKeyPem(keys.privateKey), publicKeyPem: x509.PemConverter.encode(spki, 'PUBLIC KEY') };
}
