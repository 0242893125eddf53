/** DEFAULT_PORTS are the ports a URL without one uses (WHATWG URL: the scheme's default port). */
const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** HOST_ENTRY is a policy's `host` or `host:port`: a DNS name, an IPv4 address or a bracketed IPv6 address, no scheme, path or user. */
export const HOST_ENTRY = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/i;

/** normaliseHostEntry is a `host[:port]` entry in the form compared: lower case, no trailing dot of the name. */
export function normaliseHostEntry(entry: string): string {
  return entry.trim().toLowerCase().replace(/\.(?=(:[0-9]+)?$)/, '');
}

/** UpstreamHost is the host an http(s) URL sends to, parsed the way the proxy's fetch will parse it. */
export type UpstreamHost =
  | { readonly ok: true; readonly hostname: string; readonly port: string; readonly defaultPort: boolean }
  | { readonly ok: false; readonly problem: string };

/**
 * upstreamHost parses `url` with the WHATWG URL parser (the one the proxy's fetch uses), so the
 * host compared is the host connected to: `https://allowed.example@evil.example/` is evil.example.
 * A URL with user information is refused outright (RFC 3986 §3.2.1 deprecates it, and it only
 * serves to make a URL look like it goes somewhere else).
 */
export function upstreamHost(url: string): UpstreamHost {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, problem: 'is not a URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { ok: false, problem: 'is not an http(s) URL' };
  if (parsed.username !== '' || parsed.password !== '') return { ok: false, problem: 'carries user information (user@host), which the policy never allows' };
  if (parsed.hostname === '') return { ok: false, problem: 'names no host' };
  // WHATWG URL drops a port equal to the scheme's default, so '' means the default port.
  return { ok: true, hostname: parsed.hostname.replace(/\.$/, ''), port: parsed.port === '' ? DEFAULT_PORTS[parsed.protocol] ?? '' : parsed.port, defaultPort: parsed.port === '' };
}

/**
 * hostAllowed says whether `url` goes to a host the list names: `host` allows that host on the
 * scheme's default port only, `host:port` that port only.
 */
export function hostAllowed(url: string, entries: readonly string[]): boolean {
  const host = upstreamHost(url);
  if (!host.ok) return false;
  const forms = new Set([`${host.hostname}:${host.port}`, ...(host.defaultPort ? [host.hostname] : [])]);
  return entries.some((entry) => forms.has(normaliseHostEntry(entry)));
}

/**
 * normaliseStoreUrl is a limits store URL in the form compared: scheme and host in lower case
 * (RFC 3986 §6.2.2.1: both are case-insensitive), surrounding space and a trailing slash dropped.
 * Nothing else is rewritten (no default port, no db 0), so URLs match only when they name the same
 * store the same way.
 */
export function normaliseStoreUrl(url: string): string {
  const trimmed = url.trim().replace(/\/$/, '');
  const split = /^([a-z]+:\/\/)([^/]*)(.*)$/i.exec(trimmed);
  if (split === null) return trimmed;
  const [, scheme = '', authority = '', path = ''] = split;
  return `${scheme.toLowerCase()}${authority.toLowerCase()}${path}`;
}

/** STORE_URL is a limits store entry: redis:// or rediss://, a host without credentials, at most a db number. */
export const STORE_URL = /^rediss?:\/\/[^/@\s]+(\/[0-9]{1,2})?\/?$/i;
