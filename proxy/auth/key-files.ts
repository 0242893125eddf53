import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sha256 } from './credentials.ts';

/** KeyEntry is one static key as kept in memory: its id and the SHA-256 of the key, never the key. */
export interface KeyEntry {
  readonly id: string;
  readonly hash: Buffer;
}

// A Secret's data keys (kubelet's file names) follow this syntax; ids become `key:<id>` labels, so
// the bound also keeps metric labels short.
const KEY_ID = /^[-._a-zA-Z0-9]{1,253}$/;

/** KeyFileError is a key source that cannot be used; its message names files and ids, never key material. */
export class KeyFileError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'KeyFileError';
  }
}

/**
 * readSecretDirectory reads a Secret as kubelet mounts it: one file per key (a symlink into
 * `..data`). Dot-entries (`..data`, `..2024_…`, `..data_tmp`) are kubelet's bookkeeping.
 */
async function readSecretDirectory(dir: string): Promise<[string, unknown][]> {
  const names = (await readdir(dir)).filter((name) => !name.startsWith('.')).sort();
  const pairs: [string, unknown][] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue; // stat follows kubelet's symlinks
    pairs.push([name, await readFile(path, 'utf8')]);
  }
  return pairs;
}

/** readMappingFile reads one YAML or JSON file mapping key id to key. */
async function readMappingFile(path: string): Promise<[string, unknown][]> {
  let parsed: unknown;
  try {
    parsed = parseYaml(await readFile(path, 'utf8')); // YAML 1.2 is a superset of JSON
  } catch (cause) {
    // The parser's message quotes the offending line, which may hold a key: name the file only.
    if (cause instanceof Error && cause.name.startsWith('YAML')) {
      throw new KeyFileError(`${path} is neither valid YAML nor JSON`);
    }
    throw cause;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KeyFileError(`${path} must be a mapping of key id to key`);
  }
  return Object.entries(parsed);
}

function toEntries(source: string, pairs: [string, unknown][]): KeyEntry[] {
  const problems: string[] = [];
  const entries: KeyEntry[] = [];
  for (const [id, value] of pairs) {
    if (!KEY_ID.test(id)) {
      problems.push(`key id "${id.slice(0, 64)}" must match ${KEY_ID.source}`);
    } else if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`key ${id} must be a non-empty string`);
    } else {
      // kubectl create secret --from-file keeps the file's trailing newline; keys never contain whitespace.
      entries.push({ id, hash: sha256(value.trim()) });
    }
  }
  if (problems.length > 0) throw new KeyFileError(`${source}: ${problems.join('; ')}`);
  if (entries.length === 0) throw new KeyFileError(`${source} holds no keys`);
  return entries.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/**
 * readKeyFiles loads static keys from `path`: a directory (a mounted Secret, one file per key) or a
 * single YAML/JSON file mapping id to key. It refuses an empty or malformed source, so a reload
 * from a half-written mount never replaces good keys with none.
 */
export async function readKeyFiles(path: string): Promise<KeyEntry[]> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (cause) {
    throw new KeyFileError(`cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
  }
  const pairs = isDirectory ? await readSecretDirectory(path) : await readMappingFile(path);
  return toEntries(path, pairs);
}

/** sameKeys says whether two key sets are identical (ids and hashes), so an unchanged reload stays quiet. */
export function sameKeys(a: readonly KeyEntry[], b: readonly KeyEntry[]): boolean {
  return a.length === b.length && a.every((entry, i) => entry.id === b[i]?.id && entry.hash.equals(b[i].hash));
}
