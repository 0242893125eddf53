import { readFileSync } from 'node:fs';
import { REPOSITORY_PATTERN } from '../api/v1alpha1/patterns.ts';
import { builtInPolicy, deepFreeze, RULE_NAMES, type AdminPolicy, type PolicyRules } from './model.ts';
import { HOST_ENTRY, normaliseHostEntry, normaliseStoreUrl, STORE_URL } from './urls.ts';

/** PolicyFileError is a policy file the operator refuses to start with; its message names the field. */
export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
}

/** NAMESPACE_NAME is a DNS-1123 label, as namespace names are. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const REPOSITORY = new RegExp(REPOSITORY_PATTERN, 'u');
/** IMAGE is an image reference without whitespace; the policy compares it as an exact string. */
const IMAGE = /^[^\s]+$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function unknownKeys(value: Record<string, unknown>, known: readonly string[], field: string): void {
  const extra = Object.keys(value).filter((k) => !known.includes(k));
  if (extra.length > 0) throw new PolicyFileError(`${field} has unknown keys: ${extra.join(', ')} (known: ${known.join(', ')})`);
}

interface Entries {
  readonly pattern: RegExp;
  readonly what: string;
  readonly normalise?: (s: string) => string;
}

function stringList(value: unknown, field: string, entries: Entries): string[] {
  const { pattern: entry, what, normalise = (s: string): string => s } = entries;
  if (!Array.isArray(value)) throw new PolicyFileError(`${field} must be a list of ${what}`);
  return value.map((item, i) => {
    if (typeof item !== 'string' || !entry.test(item.trim())) throw new PolicyFileError(`${field}[${String(i)}] must be ${what}, got ${JSON.stringify(item)}`);
    return normalise(item.trim());
  });
}

/** RULE_PARSERS check one rule's value each, naming the field of whatever is wrong. */
const RULE_PARSERS: { readonly [K in keyof PolicyRules]: (value: unknown, field: string, allowDevelopmentTrust: boolean) => PolicyRules[K] } = {
  proxyImages: (v, f) => stringList(v, f, { pattern: IMAGE, what: 'an image reference (pin by digest: repo@sha256:...)' }),
  configRepos: (v, f) => stringList(v, f, { pattern: REPOSITORY, what: 'a GitHub repository owner/name' }),
  unattestedUpstreamHosts: (v, f) => stringList(v, f, { pattern: HOST_ENTRY, what: 'host or host:port (no scheme, path or user)', normalise: normaliseHostEntry }),
  limitsStores: (v, f) => stringList(v, f, { pattern: STORE_URL, what: 'a redis:// or rediss:// URL without credentials', normalise: normaliseStoreUrl }),
  developmentTrust: (v, f, allow) => {
    if (typeof v !== 'boolean') throw new PolicyFileError(`${f} must be true or false`);
    // Development trust is the operator flag's AND the policy's: a policy cannot switch it on alone.
    if (v && !allow) throw new PolicyFileError(`${f} is true but the operator runs without --allow-development-trust, which development trust also needs`);
    return v;
  },
};

function parseRules(value: unknown, field: string, allowDevelopmentTrust: boolean): Partial<PolicyRules> {
  if (!isObject(value)) throw new PolicyFileError(`${field} must be an object`);
  unknownKeys(value, RULE_NAMES, field);
  const rules: Record<string, unknown> = {};
  for (const name of RULE_NAMES) {
    if (value[name] !== undefined) rules[name] = RULE_PARSERS[name](value[name], `${field}.${name}`, allowDevelopmentTrust);
  }
  return rules;
}

function parseNamespaces(value: unknown, allowDevelopmentTrust: boolean): Record<string, Partial<PolicyRules>> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new PolicyFileError('namespaces must be an object of namespace names to rules');
  return Object.fromEntries(Object.entries(value).map(([namespace, rules]) => {
    if (!NAMESPACE_NAME.test(namespace) || namespace.length > 63) throw new PolicyFileError(`namespaces: ${JSON.stringify(namespace)} is not a namespace name`);
    return [namespace, parseRules(rules, `namespaces.${namespace}`, allowDevelopmentTrust)];
  }));
}

/**
 * parsePolicy validates a policy file's content (see operator/policy/model.ts). Keys the default
 * omits keep the built-in default's values (closed), an exception's keys replace the default's for
 * that namespace only. The result is frozen.
 */
export function parsePolicy(raw: unknown, allowDevelopmentTrust: boolean): AdminPolicy {
  if (!isObject(raw)) throw new PolicyFileError('(root) must be an object with name, default and namespaces');
  unknownKeys(raw, ['name', 'default', 'namespaces'], '(root)');
  const builtIn = builtInPolicy(allowDevelopmentTrust);
  if (raw.name !== undefined && (typeof raw.name !== 'string' || raw.name.trim() === '')) throw new PolicyFileError('name must be a non-empty string');
  return deepFreeze({
    name: typeof raw.name === 'string' ? raw.name.trim() : builtIn.name,
    default: { ...builtIn.default, ...parseRules(raw.default ?? {}, 'default', allowDevelopmentTrust) },
    namespaces: parseNamespaces(raw.namespaces, allowDevelopmentTrust),
  });
}

/** loadPolicyFile reads and validates the JSON policy file once, at start; every error names the option and the field. */
export function loadPolicyFile(path: string, allowDevelopmentTrust: boolean): AdminPolicy {
  const refuse = (why: string): never => {
    throw new PolicyFileError(`--policy-file ${path}: ${why}`);
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    refuse(`cannot be read: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    refuse(`is not JSON: ${(error as Error).message}`);
  }
  try {
    return parsePolicy(raw, allowDevelopmentTrust);
  } catch (error) {
    return refuse((error as Error).message);
  }
}
