import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** WatchedFileOptions: how to parse the file, how often to re-read as a fallback, whom to tell. */
export interface WatchedFileOptions<T> {
  readonly parse: (text: string) => T;
  /** pollMs re-reads on a timer too: inotify events on kubelet's symlink swaps are not guaranteed. */
  readonly pollMs?: number;
  readonly onChange?: (value: T | undefined, error?: Error) => void;
}

/** WatchedFile holds the latest good value of a file that may be replaced at any time. */
export interface WatchedFile<T> {
  current(): T | undefined;
  /** reload re-reads now (used by tests and after a suspected stale value). */
  reload(): Promise<void>;
  close(): void;
}

/**
 * watchFile reads `path` and keeps its value current. Kubernetes updates a mounted Secret or
 * ConfigMap by swapping the `..data` symlink in the mount folder, so the folder is watched, not
 * the file. A file that disappears yields undefined; one that fails to parse keeps the previous
 * value and reports the error. Readers never see a half-written value: a read is one readFile.
 */
export async function watchFile<T>(path: string, options: WatchedFileOptions<T>): Promise<WatchedFile<T>> {
  let value: T | undefined;
  let last: string | undefined;
  let closed = false;
  const read = async (): Promise<void> => {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      text = undefined;
    }
    if (closed || text === last) return;
    last = text;
    if (text === undefined) {
      value = undefined;
      options.onChange?.(undefined, new Error(`${path} is missing`));
      return;
    }
    try {
      value = options.parse(text);
      options.onChange?.(value);
    } catch (error) {
      options.onChange?.(value, error as Error);
    }
  };
  await read();
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void read(), 50);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      if (name === null || name === basename(path) || name.startsWith('..')) schedule();
    });
  } catch {
    watcher = undefined; // the folder may not exist yet; polling covers it
  }
  const poll = setInterval(() => void read(), options.pollMs ?? 10_000);
  poll.unref();
  return {
    current: () => value,
    reload: read,
    close: () => {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    },
  };
}
