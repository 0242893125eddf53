import { timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProxyError } from '../errors.ts';
import { sha256 } from './credentials.ts';
import { readKeyFiles, type KeyEntry } from './key-files.ts';
import { createStaticKeysAuthenticator, findKey, type StaticKeysAuthenticator } from './static-keys.ts';
import type { AuthLogger } from './types.ts';

/** RecordingLogger keeps every line, so tests can check that no key ever reaches a log. */
function recordingLogger(): AuthLogger & { lines: string[] } {
  const lines: string[] = [];
  const record = (fields: object, message: string): void => {
    lines.push(`${message} ${JSON.stringify(fields)}`);
  };
  return { lines, info: record, warn: record };
}

let generation = 0;

/**
 * writeSecretVolume updates `dir` the way kubelet's AtomicWriter does: write a new timestamped
 * directory, point `..data_tmp` at it, rename that over `..data`, then fix the per-key symlinks
 * and remove the old directory.
 */
async function writeSecretVolume(dir: string, data: Record<string, string>): Promise<void> {
  const stamp = `..2025_01_01_00_00_00.${String(++generation).padStart(9, '0')}`;
  await mkdir(join(dir, stamp));
  for (const [name, value] of Object.entries(data)) await writeFile(join(dir, stamp, name), value);
  const old = await readlink(join(dir, '..data')).catch(() => undefined);
  await symlink(stamp, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of await readdir(dir)) {
    if (!name.startsWith('.') && !(name in data)) await unlink(join(dir, name));
  }
  for (const name of Object.keys(data)) await symlink(join('..data', name), join(dir, name)).catch(() => undefined);
  if (old !== undefined) await rm(join(dir, old), { recursive: true });
}

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

async function refusalOf(auth: StaticKeysAuthenticator, key: string): Promise<ProxyError> {
  const error: unknown = await auth.authenticate(bearer(key)).then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  if (!(error instanceof ProxyError)) throw error;
  return error;
}

describe('findKey', () => {
  const keys: KeyEntry[] = ['alpha', 'beta', 'gamma'].map((id) => ({ id, hash: sha256(`secret-${id}`) }));

  it('compares the presented digest with every stored digest in constant time, with no early exit', () => {
    const compared: string[] = [];
    const counting = (a: Buffer, b: Buffer): boolean => {
      compared.push(keys.find((k) => k.hash === a)?.id ?? '?');
      return timingSafeEqual(a, b);
    };
    expect(findKey(keys, sha256('secret-alpha'), counting)?.id).toBe('alpha');
    expect(compared).toEqual(['alpha', 'beta', 'gamma']);
    compared.length = 0;
    expect(findKey(keys, sha256('nope'), counting)).toBeUndefined();
    expect(compared).toEqual(['alpha', 'beta', 'gamma']);
  });
});

describe('static keys', () => {
  let dir: string;
  let auth: StaticKeysAuthenticator | undefined;
  const logger = recordingLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'static-keys-'));
    logger.lines.length = 0;
  });
  afterEach(async () => {
    await auth?.close();
    auth = undefined;
    await rm(dir, { recursive: true, force: true });
    expect(logger.lines.join('\n')).not.toMatch(/sk-/);
  });

  it('reads a kubelet-mounted Secret directory, ignoring its dot-entries', async () => {
    await writeSecretVolume(dir, { team_a: 'sk-aaaa\n', 'team-b': 'sk-bbbbbbbbbbbbbbbb' });
    auth = await createStaticKeysAuthenticator({ path: dir }, { logger });
    expect(auth.keyIds()).toEqual(['team-b', 'team_a']);
    expect(await auth.authenticate(bearer('sk-aaaa'))).toEqual({ kind: 'static-key', label: 'key:team_a' });
    expect(await auth.authenticate({ 'api-key': 'sk-bbbbbbbbbbbbbbbb' })).toEqual({ kind: 'static-key', label: 'key:team-b' });
    const refused = await refusalOf(auth, 'sk-cccc');
    expect(refused.code).toBe('invalid_api_key');
    expect(refused.message).not.toContain('sk-');
  });

  it('reads a YAML file and a JSON file mapping id to key', async () => {
    await writeFile(join(dir, 'keys.yaml'), 'ci: sk-yaml-1\n"bot.2": "sk-yaml-2"\n');
    await writeFile(join(dir, 'keys.json'), JSON.stringify({ ci: 'sk-json-1' }));
    auth = await createStaticKeysAuthenticator({ path: join(dir, 'keys.yaml') }, { logger });
    expect((await auth.authenticate({ 'x-api-key': 'sk-yaml-2' })).label).toBe('key:bot.2');
    await auth.close();
    auth = await createStaticKeysAuthenticator({ path: join(dir, 'keys.json') }, { logger });
    expect((await auth.authenticate(bearer('sk-json-1'))).label).toBe('key:ci');
    await expect(auth.authenticate(bearer('sk-yaml-1'))).rejects.toMatchObject({ code: 'invalid_api_key' });
  });

  it('refuses to start from an empty or malformed source, naming ids but never keys', async () => {
    await expect(readKeyFiles(dir)).rejects.toThrow(/holds no keys/);
    await writeFile(join(dir, 'bad.yaml'), 'ci: [sk-oops\n');
    await expect(readKeyFiles(join(dir, 'bad.yaml'))).rejects.toThrow(/neither valid YAML nor JSON$/);
    await writeFile(join(dir, 'bad.yaml'), 'ci: 12345\n"bad id": sk-x\n');
    const error = await readKeyFiles(join(dir, 'bad.yaml')).then(() => new Error('expected a refusal'), (e: unknown) => e as Error);
    expect(error.message).toContain('key ci must be a non-empty string');
    expect(error.message).toContain('key id "bad id"');
    expect(error.message).not.toContain('sk-');
    await expect(readKeyFiles(join(dir, 'missing'))).rejects.toThrow(/cannot read .*ENOENT/);
  });

  it('follows a kubelet rotation (the ..data symlink swapped) through the directory watch', async () => {
    await writeSecretVolume(dir, { old: 'sk-old', kept: 'sk-kept' });
    auth = await createStaticKeysAuthenticator({ path: dir, debounceMs: 20, pollIntervalMs: 3_600_000 }, { logger });
    await writeSecretVolume(dir, { new: 'sk-new', kept: 'sk-kept' });
    const current = auth;
    await vi.waitFor(async () => {
      expect((await current.authenticate(bearer('sk-new'))).label).toBe('key:new');
    }, { timeout: 5000 });
    expect((await refusalOf(auth, 'sk-old')).code).toBe('invalid_api_key');
    expect((await auth.authenticate(bearer('sk-kept'))).label).toBe('key:kept');
    expect(logger.lines.some((l) => l.startsWith('static keys reloaded') && l.includes('"new"'))).toBe(true);
  });

  it('re-reads on the slow interval when no event arrives', async () => {
    const file = join(dir, 'keys.yaml');
    await writeFile(file, 'a: sk-first\n');
    auth = await createStaticKeysAuthenticator({ path: file, debounceMs: 3_600_000, pollIntervalMs: 50 }, { logger });
    await writeFile(file, 'b: sk-second\n');
    const current = auth;
    await vi.waitFor(async () => {
      expect((await current.authenticate(bearer('sk-second'))).label).toBe('key:b');
    }, { timeout: 5000 });
  });

  it('keeps the previous keys when a reload fails, and logs why', async () => {
    const file = join(dir, 'keys.yaml');
    await writeFile(file, 'a: sk-first\n');
    auth = await createStaticKeysAuthenticator({ path: file, debounceMs: 3_600_000, pollIntervalMs: 3_600_000 }, { logger });
    await writeFile(file, 'a: [sk-broken\n');
    expect(await auth.reload()).toBe(false);
    expect((await auth.authenticate(bearer('sk-first'))).label).toBe('key:a');
    expect(logger.lines.some((l) => l.startsWith('static keys: reload failed') && l.includes('neither valid YAML nor JSON'))).toBe(true);
    await writeFile(file, 'a: sk-fixed\n');
    expect(await auth.reload()).toBe(true);
    expect((await auth.authenticate(bearer('sk-fixed'))).label).toBe('key:a');
  });
});
