// Questions asked of esbuild's metafile after a build: what loads at start, which packages went in.
import { isBuiltin } from 'node:module';
import { packageOf } from './lockfile.ts';

/** Metafile is the part of esbuild's metafile read here. */
export interface Metafile {
  readonly outputs: Readonly<Record<string, {
    readonly bytes: number;
    readonly entryPoint?: string;
    readonly inputs: Readonly<Record<string, { readonly bytesInOutput: number }>>;
    readonly imports: readonly { readonly path: string; readonly kind: string; readonly external?: boolean }[];
  }>>;
}

/** entryOutput is the output file esbuild wrote for `entry` (a path relative to the working folder). */
export function entryOutput(meta: Metafile, entry: string): string {
  const found = Object.entries(meta.outputs).find(([, o]) => o.entryPoint === entry);
  if (found === undefined) throw new Error(`no output for the entry point ${entry}`);
  return found[0];
}

/**
 * eagerOutputs are the output files that load when `entry` is imported: the entry and every chunk
 * it reaches through static `import` statements, never through a dynamic `import()`.
 */
export function eagerOutputs(meta: Metafile, entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [entryOutput(meta, entry)];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const i of meta.outputs[file]?.imports ?? []) {
      if (i.kind === 'import-statement' && i.external !== true) queue.push(i.path);
    }
  }
  return seen;
}

/** packagesIn are the install paths of the packages whose code is in `outputs`. */
export function packagesIn(meta: Metafile, outputs: Iterable<string>): Set<string> {
  const found = new Set<string>();
  for (const file of outputs) {
    for (const input of Object.keys(meta.outputs[file]?.inputs ?? {})) {
      const pkg = packageOf(input);
      if (pkg !== undefined) found.add(pkg);
    }
  }
  return found;
}

/** eagerLazy lists the packages of `lazy` (by name) whose code loads at start anyway. */
export function eagerLazy(meta: Metafile, entry: string, lazy: readonly string[]): string[] {
  const eager = packagesIn(meta, eagerOutputs(meta, entry));
  return lazy.filter((name) => [...eager].some((p) => p === `node_modules/${name}` || p.endsWith(`/node_modules/${name}`)));
}

/** externalImports are the bare specifiers the bundle leaves to Node's resolution (built-ins aside). */
export function externalImports(meta: Metafile): Set<string> {
  const found = new Set<string>();
  for (const o of Object.values(meta.outputs)) {
    for (const i of o.imports) if (i.external === true && !isBuiltin(i.path)) found.add(i.path);
  }
  return found;
}
