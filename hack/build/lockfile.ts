// What package-lock.json says about the packages a bundle contains or leaves beside itself.

/** LockEntry is one `packages` entry of package-lock.json (lockfileVersion 3), the fields read here. */
export interface LockEntry {
  readonly version?: string;
  readonly license?: string;
  readonly dev?: boolean;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
}

/** Lock is package-lock.json's `packages` map: install path (`node_modules/a/node_modules/b`) to entry. */
export type Lock = Readonly<Record<string, LockEntry>>;

const NM = 'node_modules/';

/**
 * packageOf is the install path of the package a file belongs to (the innermost `node_modules/<name>`
 * or `node_modules/@scope/<name>` of its path), or undefined for a file of the project itself.
 */
export function packageOf(file: string): string | undefined {
  const at = file.lastIndexOf(NM);
  if (at < 0) return undefined;
  const parts = file.slice(at + NM.length).split('/');
  const width = parts[0]?.startsWith('@') === true ? 2 : 1;
  if (parts.length < width || parts.slice(0, width).some((p) => p === '')) return undefined;
  return `${file.slice(0, at)}${NM}${parts.slice(0, width).join('/')}`;
}

/** nameOf is a package's name from its install path. */
export function nameOf(installPath: string): string {
  return installPath.slice(installPath.lastIndexOf(NM) + NM.length);
}

/**
 * resolveFrom is where `name`, required by the package installed at `from` ('' for the project),
 * is installed: Node's walk up the node_modules folders, over the lockfile instead of the disk.
 */
export function resolveFrom(lock: Lock, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}${NM}${name}`;
    if (lock[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const up = base.lastIndexOf(`/${NM}`);
    base = up < 0 ? '' : base.slice(0, up);
  }
}

/** needs are the install paths `entry` (installed at `path`) loads at run time; throws on a missing dependency. */
function needs(lock: Lock, path: string, entry: LockEntry): string[] {
  const required = Object.keys(entry.dependencies ?? {}).map((dep) => {
    const found = resolveFrom(lock, path, dep);
    if (found === undefined) throw new Error(`${dep}, a dependency of ${path}, is not in package-lock.json`);
    return found;
  });
  const optional = [...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {})]
    .map((dep) => resolveFrom(lock, path, dep))
    .filter((found): found is string => found !== undefined && lock[found]?.dev !== true);
  return [...required, ...optional];
}

/**
 * runtimeClosure is the install paths of the production package `name` and of everything it needs
 * at run time (dependencies, installed optional and peer dependencies), sorted. Throws when the
 * package or one of its dependencies is missing, or is a development-only install.
 */
export function runtimeClosure(lock: Lock, name: string): string[] {
  const root = resolveFrom(lock, '', name);
  if (root === undefined) throw new Error(`${name} is not in package-lock.json`);
  const seen = new Set<string>();
  const queue = [root];
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = lock[path] ?? {};
    if (entry.dev === true) throw new Error(`${path} is a development dependency; a production image cannot ship it`);
    queue.push(...needs(lock, path, entry));
  }
  return [...seen].sort();
}

/** developmentOnly lists the install paths among `paths` that the lockfile marks as development-only. */
export function developmentOnly(lock: Lock, paths: Iterable<string>): string[] {
  return [...paths].filter((p) => lock[p]?.dev === true).sort();
}
