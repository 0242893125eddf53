import { readFile } from 'node:fs/promises';
import { normaliseStoreUrl, STORE_URL } from '../policy/urls.ts';

/**
 * StoreCredential is how the operator itself reaches one limits store the admin configured: its
 * own (read-only) user, the file its password is mounted at, and for `rediss://` the CA file and
 * server name the certificate is checked against. Nothing here comes from an endpoint's spec.
 */
export interface StoreCredential {
  /** url is normalised (`normaliseStoreUrl`): the key an endpoint's URL must match exactly. */
  readonly url: string;
  readonly username?: string;
  readonly passwordFile?: string;
  readonly caFile?: string;
  readonly serverName?: string;
  readonly timeoutMilliseconds: number;
}

/** LimitsStores are the stores the operator may connect to, by normalised URL; empty, it connects to none. */
export type LimitsStores = ReadonlyMap<string, StoreCredential>;

/** NO_STORES is the configuration without `--limits-store-config`: the operator reads no limits store. */
export const NO_STORES: LimitsStores = new Map();

/** DEFAULT_TIMEOUT_MS bounds each read of a store (and the wait for its connection). */
export const DEFAULT_TIMEOUT_MS = 1000;

/** normaliseStoreUrl is the one form in which the policy and the operator's configuration compare store URLs. */
export { normaliseStoreUrl };

const KEYS = new Set(['url', 'username', 'passwordFile', 'caFile', 'serverName', 'timeoutMilliseconds']);

function optionalString(entry: Record<string, unknown>, key: string, field: string): string | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${field}.${key} must be a non-empty string`);
  return value;
}

function timeout(entry: Record<string, unknown>, field: string): number {
  const value = entry.timeoutMilliseconds ?? DEFAULT_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 60_000) throw new Error(`${field}.timeoutMilliseconds must be an integer from 1 to 60000`);
  return value;
}

/** parseStore checks one entry of `stores`, naming the field of whatever is wrong. */
function parseStore(raw: unknown, field: string): StoreCredential {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${field} must be an object`);
  const entry = raw as Record<string, unknown>;
  const unknown = Object.keys(entry).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) throw new Error(`${field} has unknown keys: ${unknown.join(', ')}`);
  const url = entry.url;
  if (typeof url !== 'string' || !STORE_URL.test(url.trim())) throw new Error(`${field}.url must be redis://host:port[/db] or rediss://host:port[/db], without credentials, got ${JSON.stringify(url)}`);
  const normalised = normaliseStoreUrl(url);
  const tls = strings(entry, ['caFile', 'serverName'], field);
  if (!normalised.startsWith('rediss://') && Object.keys(tls).length > 0) throw new Error(`${field}: caFile and serverName are for rediss:// URLs only`);
  return { url: normalised, ...strings(entry, ['username', 'passwordFile'], field), ...tls, timeoutMilliseconds: timeout(entry, field) };
}

/** strings picks the optional string keys `keys` that are set. */
function strings(entry: Record<string, unknown>, keys: readonly ('username' | 'passwordFile' | 'caFile' | 'serverName')[], field: string): Partial<Record<(typeof keys)[number], string>> {
  const out: Partial<Record<(typeof keys)[number], string>> = {};
  for (const key of keys) {
    const value = optionalString(entry, key, field);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * parseLimitsStores reads the operator's limits store configuration, `{"stores": [...]}` (rendered
 * by the chart from `limitsStore.stores`). Anything malformed is an error naming the field: the
 * operator refuses to start rather than guess which credential goes where.
 */
export function parseLimitsStores(text: string, source: string): LimitsStores {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const stores = (document as { stores?: unknown } | null)?.stores;
  if (typeof document !== 'object' || document === null || !Array.isArray(stores)) throw new Error(`${source}: stores must be a list`);
  const byUrl = new Map<string, StoreCredential>();
  stores.forEach((raw, i) => {
    const store = parseStore(raw, `${source}: stores[${String(i)}]`);
    if (byUrl.has(store.url)) throw new Error(`${source}: stores[${String(i)}].url ${store.url} is listed twice`);
    byUrl.set(store.url, store);
  });
  return byUrl;
}

/** loadLimitsStores reads `--limits-store-config`; without one, the operator reads no store. */
export async function loadLimitsStores(path: string | undefined): Promise<LimitsStores> {
  if (path === undefined) return NO_STORES;
  return parseLimitsStores(await readFile(path, 'utf8'), path);
}
