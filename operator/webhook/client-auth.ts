/**
 * Client authentication of the webhook's caller. The API server presents a client certificate to
 * admission webhooks when its admission configuration names a kubeconfig for them
 * (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#authenticate-apiservers);
 * the TLS handshake verifies the chain against the configured CA, and `clientNameAllowed` then
 * checks the certificate names one of the allowed callers.
 */

/** ClientAuth is how the webhook authenticates its caller: the CA bundle file that signs the API server's client certificate, and the names it may carry. */
export interface ClientAuth {
  /** caFile is a PEM bundle of the CAs trusted to sign the API server's client certificate. */
  readonly caFile: string;
  /** allowedNames are the subject common names or DNS SANs accepted; empty accepts any certificate the CA signed. */
  readonly allowedNames: readonly string[];
}

/** PeerNames is what `tls.TLSSocket.getPeerCertificate()` says about the names in a certificate. */
export interface PeerNames {
  readonly subject?: { readonly CN?: string | readonly string[] } | null;
  /** subjectaltname is Node's rendering of the SAN extension: `DNS:a, IP Address:1.2.3.4, …`. */
  readonly subjectaltname?: string;
}

/** certificateNames lists a peer certificate's subject CNs and DNS SANs (IP and URI SANs never name a caller here). */
export function certificateNames(peer: PeerNames): string[] {
  const cn = peer.subject?.CN;
  const cns = cn === undefined ? [] : typeof cn === 'string' ? [cn] : [...cn];
  // Node quotes a SAN entry that holds a comma or quote (JSON style); such a name never matches a plain allowed name.
  const sans = (peer.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice('DNS:'.length));
  return [...cns, ...sans];
}

/** clientNameAllowed says whether a verified peer certificate names an allowed caller (exact, case-sensitive, as the API server's own authenticator compares CNs). */
export function clientNameAllowed(peer: PeerNames, allowedNames: readonly string[]): boolean {
  if (allowedNames.length === 0) return true;
  return certificateNames(peer).some((name) => allowedNames.includes(name));
}

/** parseClientNames reads `--webhook-client-names`: comma-separated names, each a plain CN or DNS name. */
export function parseClientNames(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.find((n) => !/^[A-Za-z0-9]([A-Za-z0-9._:-]*[A-Za-z0-9])?$/.test(n));
  if (bad !== undefined) throw new Error(`--webhook-client-names: ${JSON.stringify(bad)} is not a plain name (letters, digits, '.', '-', '_', ':'; no wildcards)`);
  return names;
}
