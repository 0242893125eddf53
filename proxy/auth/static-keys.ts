import { timingSafeEqual } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { ProxyError } from '../errors.ts';
import { presentedCredential, sha256 } from './credentials.ts';
import { readKeyFiles, sameKeys, type KeyEntry } from './key-files.ts';
import type { AuthLogger, Caller, CallerAuthenticator } from './types.ts';

/** StaticKeysOptions says where the keys are and how eagerly to notice that they changed. */
export interface StaticKeysOptions {
  /** path is a mounted Secret directory or one YAML/JSON file (`auth.staticKeysFile`). */
  readonly path: string;
  /** debounceMs groups the burst of events one kubelet update makes into one reload. */
  readonly debounceMs?: number;
  /** pollIntervalMs re-reads the keys even without events (watches can miss or die). */
  readonly pollIntervalMs?: number;
}

/** StaticKeysAuthenticator is a CallerAuthenticator that can also be told to reload now. */
export interface StaticKeysAuthenticator extends CallerAuthenticator {
  /** reload re-reads the keys; it resolves false (keeping the previous keys) when they cannot be read. */
  reload(): Promise<boolean>;
  /** keyIds lists the ids of the keys in use. */
  keyIds(): string[];
  close(): Promise<void>;
}

/** KeyComparison compares two equal-length digests; it is `crypto.timingSafeEqual` outside tests. */
export type KeyComparison = (a: Buffer, b: Buffer) => boolean;

/**
 * findKey returns the entry whose hash equals `presented`. It compares against every entry, with a
 * constant-time comparison and no early exit, so the time taken says nothing about which key (or
 * how much of one) matched. Comparing digests rather than keys also makes lengths equal.
 */
export function findKey(keys: readonly KeyEntry[], presented: Buffer, equal: KeyComparison = timingSafeEqual): KeyEntry | undefined {
  let found: KeyEntry | undefined;
  for (const entry of keys) {
    const matches = equal(entry.hash, presented);
    found ??= matches ? entry : undefined;
  }
  return found;
}

function errorSummary(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** KeyWatcher reloads on file events (debounced) and on a slow poll; it owns its timers and watch. */
interface KeyWatcher {
  stop(): void;
}

// kubelet updates a Secret volume by writing a new timestamped directory and renaming a `..data`
// symlink over the old one, so the events arrive in the watched directory itself. A single mapped
// file is watched through its directory for the same reason (it is a symlink into `..data`).
async function watchKeys(options: StaticKeysOptions, reload: () => void, logger: AuthLogger): Promise<KeyWatcher> {
  const dir = (await stat(options.path)).isDirectory() ? options.path : dirname(options.path);
  let debounce: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(reload, options.debounceMs ?? 250).unref();
  };
  let watcher: FSWatcher | undefined;
  const startWatch = (): void => {
    try {
      watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (error) => {
        logger.warn({ dir, error: errorSummary(error) }, 'static keys: watch failed; relying on the periodic re-read');
        watcher?.close();
        watcher = undefined;
      });
    } catch (error) {
      logger.warn({ dir, error: errorSummary(error) }, 'static keys: cannot watch; relying on the periodic re-read');
    }
  };
  startWatch();
  const poll = setInterval(() => {
    if (watcher === undefined) startWatch();
    reload();
  }, options.pollIntervalMs ?? 60_000).unref();
  return {
    stop: () => {
      clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
    },
  };
}

/**
 * createStaticKeysAuthenticator authenticates callers by API keys kept in a mounted Secret (or one
 * file). It fails when the keys cannot be read at start; later, a failed reload keeps the previous
 * keys and logs why. A caller is labelled `key:<id>`.
 */
export async function createStaticKeysAuthenticator(
  options: StaticKeysOptions,
  deps: { readonly logger: AuthLogger },
): Promise<StaticKeysAuthenticator> {
  let keys = await readKeyFiles(options.path);
  deps.logger.info({ path: options.path, keyIds: keys.map((k) => k.id) }, 'static keys loaded');

  // Reloads run one after another, so a slow read never overwrites a newer one.
  let queue: Promise<boolean> = Promise.resolve(true);
  const reloadOnce = async (): Promise<boolean> => {
    try {
      const next = await readKeyFiles(options.path);
      if (!sameKeys(keys, next)) deps.logger.info({ path: options.path, keyIds: next.map((k) => k.id) }, 'static keys reloaded');
      keys = next;
      return true;
    } catch (error) {
      deps.logger.warn({ path: options.path, error: errorSummary(error) }, 'static keys: reload failed; keeping the previous keys');
      return false;
    }
  };
  const reload = (): Promise<boolean> => (queue = queue.then(reloadOnce));
  const watcher = await watchKeys(options, () => void reload(), deps.logger);

  return {
    // The executor turns a thrown ProxyError into a rejection, as callers of a Promise expect.
    authenticate: (headers: IncomingHttpHeaders): Promise<Caller> => new Promise((resolve) => {
      const entry = findKey(keys, sha256(presentedCredential(headers)));
      if (entry === undefined) throw new ProxyError('invalid_api_key', 'The API key is not valid.');
      resolve({ kind: 'static-key', label: `key:${entry.id}` });
    }),
    reload,
    keyIds: () => keys.map((k) => k.id),
    close: async () => {
      watcher.stop();
      await queue;
    },
  };
}
