import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/harness/processes.ts';
import { watchFile, type WatchedFile } from './watched-file.ts';

/** kubeletMount lays out a folder the way kubelet mounts a Secret and can swap its data atomically. */
async function kubeletMount(root: string, files: Record<string, string>, generation: number): Promise<void> {
  const data = join(root, `..${String(generation)}`);
  await mkdir(data);
  for (const [name, content] of Object.entries(files)) await writeFile(join(data, name), content);
  await symlink(`..${String(generation)}`, join(root, '..data_tmp'));
  await rename(join(root, '..data_tmp'), join(root, '..data'));
  for (const name of Object.keys(files)) await symlink(join('..data', name), join(root, `${name}.tmp`)).then(() => rename(join(root, `${name}.tmp`), join(root, name)));
}

describe('watchFile', () => {
  let root = '';
  let watched: WatchedFile<string> | undefined;
  afterEach(async () => {
    watched?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('follows a kubelet-style Secret rotation', async () => {
    root = await mkdtemp(join(tmpdir(), 'secret-'));
    await kubeletMount(root, { 'api-key': 'first\n' }, 1);
    const changes: (string | undefined)[] = [];
    watched = await watchFile(join(root, 'api-key'), { parse: (t) => t.trim(), onChange: (v) => changes.push(v) });
    expect(watched.current()).toBe('first');
    await kubeletMount(root, { 'api-key': 'second\n' }, 2);
    await waitFor('the rotated key', () => Promise.resolve(watched?.current() === 'second'), { timeoutMs: 5000, intervalMs: 20 });
    expect(changes).toEqual(['first', 'second']);
  });

  it('keeps the last good value when the new content does not parse', async () => {
    root = await mkdtemp(join(tmpdir(), 'secret-'));
    const file = join(root, 'value');
    await writeFile(file, '1');
    const errors: string[] = [];
    watched = await watchFile(file, {
      parse: (t) => {
        if (!/^\d+$/.test(t)) throw new Error('not a number');
        return t;
      },
      onChange: (_v, e) => e && errors.push(e.message),
    });
    await writeFile(file, 'x');
    await watched.reload();
    expect(watched.current()).toBe('1');
    expect(errors).toEqual(['not a number']);
  });

  it('reports a missing file as undefined, and picks it up once it appears', async () => {
    root = await mkdtemp(join(tmpdir(), 'secret-'));
    const file = join(root, 'late');
    watched = await watchFile(file, { parse: (t) => t, pollMs: 50 });
    expect(watched.current()).toBeUndefined();
    await writeFile(file, 'here');
    await waitFor('the file', () => Promise.resolve(watched?.current() === 'here'), { timeoutMs: 5000, intervalMs: 20 });
  });
});
