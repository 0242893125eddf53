// Bundles each program (hack/build/programs.ts: the proxy, the operator) into plain JavaScript for
// the images, so they run no type stripper and ship no node_modules beyond what is left unbundled.
//   npm run build                      (node hack/build.ts [--outdir DIR] [--only proxy|operator])
//
// It writes, for each program, DIR/<program>/ (default dist/), which runs as it is, anywhere:
//   main.js, main.js.map       the entry point: what loads at start (`node main.js`)
//   chunks/*.js, *.js.map      each dynamic import() becomes a chunk loaded on demand, so the lazily
//                              loaded libraries (hack/build/programs.ts `lazy`) stay out of idle memory
//   node_modules/              the unbundled EXTERNALS and their dependencies, copied as installed
//   package.json               {"type":"module"}: Node reads the files as ES modules without guessing
//   THIRD-PARTY-LICENSES.txt   the licence texts of every package whose code is in the bundle
// and DIR/<program>.meta.json, esbuild's metafile (which input went into which output).
//
// esbuild: a bundler in wide use for years, one prebuilt binary per platform (no install scripts or
// native build), TypeScript without a separate compile, ESM code splitting, and a metafile the
// checks below read. The build fails when a lazy package loads at start, when a development-only
// package went into a bundle, or when the bundle leaves an import nothing will satisfy.
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { developmentOnly, nameOf, packageOf, runtimeClosure, type Lock } from './build/lockfile.ts';
import { eagerLazy, eagerOutputs, externalImports, packagesIn, type Metafile } from './build/metafile.ts';
import { EXTERNALS, PROGRAMS, type Program } from './build/programs.ts';
import { licenceTexts, renderThirdParty } from './build/third-party.ts';

const ROOT = join(import.meta.dirname, '..');

/**
 * BANNER starts every output file. Bundled CommonJS packages call require() for Node's built-ins,
 * which an ES module lacks (esbuild's shim throws "Dynamic require of … is not supported" without
 * it), and a few read __filename or __dirname (ioredis' friendly stack traces); esbuild's `define`
 * below points those at these module-scoped values.
 */
const BANNER = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  'const require = __bundleCreateRequire(import.meta.url);',
  'const __bundleFilename = __bundleFileURLToPath(import.meta.url);',
  "const __bundleDirname = __bundleFilename.slice(0, __bundleFilename.lastIndexOf('/'));",
].join('\n');

/**
 * OPTIONAL are modules bundled packages require() inside a try block and do without when missing,
 * as they are in a production install: ws' native speed-ups (in no lockfile entry) and debug's
 * colour detection (installed here only as development dependencies of the test tools). They are
 * left out of the bundle, so it is the same whatever else node_modules holds.
 */
const OPTIONAL = new Set(['bufferutil', 'utf-8-validate', 'supports-color', 'has-flag']);

/**
 * productionOnly leaves a development-only package (package-lock.json `dev`) out of the bundle, as
 * an external import, and records its name: `check` fails unless it is OPTIONAL. Without it, code
 * that production install would not have could slip in from the local node_modules.
 */
function productionOnly(lock: Lock, leftOut: Set<string>): Plugin {
  const again = Symbol('production-only');
  return {
    name: 'production-only',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === again) return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: again });
        if (resolved.errors.length > 0 || resolved.external) return undefined;
        const pkg = packageOf(relative(ROOT, resolved.path));
        if (pkg === undefined || lock[pkg]?.dev !== true) return undefined;
        leftOut.add(nameOf(pkg));
        return { path: args.path, external: true };
      });
    },
  };
}

function esbuildOptions(program: Program, outdir: string, plugins: Plugin[]): BuildOptions & { metafile: true } {
  return {
    absWorkingDir: ROOT,
    entryPoints: { main: program.entry },
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: EXTERNALS.map((e) => e.name),
    // Line tables only: stack traces map back with --enable-source-maps; the sources stay out of the image.
    sourcemap: 'linked',
    sourcesContent: false,
    // The licences travel in THIRD-PARTY-LICENSES.txt, whole, instead of as scattered comments.
    legalComments: 'none',
    charset: 'utf8',
    // Whitespace and syntax only: 2–3 MiB less resident memory than the unminified bundle, while
    // identifiers keep their names, so a stack trace in a log reads without the source maps (which
    // --enable-source-maps would load into every process: about 60 MiB more, measured).
    minifyWhitespace: true,
    minifySyntax: true,
    banner: { js: BANNER },
    define: { __filename: '__bundleFilename', __dirname: '__bundleDirname' },
    metafile: true,
    logLevel: 'warning',
    plugins,
  };
}

/** Built is what one program's build produced, in bytes. */
interface Built {
  readonly program: string;
  readonly eagerJs: number;
  readonly lazyJs: number;
  readonly maps: number;
  readonly external: number;
  readonly bundled: number;
}

/** check fails the build on a lazy package that loads at start, development code, or an unmet import. */
function check(program: Program, meta: Metafile, lock: Lock, leftOut: ReadonlySet<string>): void {
  const problems: string[] = [];
  const development = [...leftOut].filter((name) => !OPTIONAL.has(name));
  if (development.length > 0) problems.push(`imports development-only packages: ${development.join(', ')}`);
  const eager = eagerLazy(meta, program.entry, program.lazy);
  if (eager.length > 0) problems.push(`loaded at start although the program imports them only when needed: ${eager.join(', ')}`);
  const dev = developmentOnly(lock, packagesIn(meta, Object.keys(meta.outputs)));
  if (dev.length > 0) problems.push(`development-only packages in the bundle: ${dev.join(', ')}`);
  const allowed = new Set([...EXTERNALS.map((e) => e.name), ...OPTIONAL]);
  const unmet = [...externalImports(meta)].filter((i) => !allowed.has(i) && ![...allowed].some((a) => i.startsWith(`${a}/`)));
  if (unmet.length > 0) problems.push(`imports left to node_modules that the image will not have: ${unmet.join(', ')}`);
  if (problems.length > 0) throw new Error(`${program.name}: ${problems.join('; ')}`);
}

/**
 * NOT_RUN are files of an external's dependencies that Node never loads: TypeScript sources and
 * declarations (Node strips no types under node_modules) and source maps. The externals themselves
 * are copied whole, as published.
 */
const NOT_RUN = /\.(ts|mts|cts|map)$/;

/** copyExternals copies each external the bundle imports, and its run-time dependencies, into outdir. */
async function copyExternals(meta: Metafile, lock: Lock, outdir: string): Promise<string[]> {
  const imported = externalImports(meta);
  const used = EXTERNALS.filter((e) => [...imported].some((i) => i === e.name || i.startsWith(`${e.name}/`)));
  const whole = new Set(used.map((e) => `node_modules/${e.name}`));
  const paths = new Set(used.flatMap((e) => runtimeClosure(lock, e.name)));
  for (const path of paths) {
    const from = join(ROOT, path);
    // Nested node_modules folders are packages of their own, in `paths` when needed.
    const filter = (source: string): boolean => source !== join(from, 'node_modules') && (whole.has(path) || !NOT_RUN.test(source));
    await cp(from, join(outdir, path), { recursive: true, filter });
  }
  await removeEmptyFolders(join(outdir, 'node_modules'));
  return [...paths].sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
}

/** removeEmptyFolders deletes the folders under `dir` that pruning left empty. */
async function removeEmptyFolders(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let empty = true;
  for (const e of entries) {
    if (!e.isDirectory() || !(await removeEmptyFolders(join(dir, e.name)))) empty = false;
  }
  if (empty) await rm(dir, { recursive: true });
  return empty;
}

async function sizeOf(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const e of await readdir(path)) total += await sizeOf(join(path, e));
  return total;
}

async function buildProgram(program: Program, outRoot: string, lock: Lock): Promise<Built> {
  const outdir = join(outRoot, program.name);
  await rm(outdir, { recursive: true, force: true });
  const leftOut = new Set<string>();
  const { metafile: meta } = await build(esbuildOptions(program, outdir, [productionOnly(lock, leftOut)]));
  check(program, meta, lock, leftOut);
  const externals = await copyExternals(meta, lock, outdir);
  const bundled = [...packagesIn(meta, Object.keys(meta.outputs))].map((path) => {
    const entry = lock[path] ?? {};
    return { name: nameOf(path), version: entry.version ?? '?', license: entry.license ?? 'UNKNOWN', texts: licenceTexts(join(ROOT, path)) };
  });
  await writeFile(join(outdir, 'THIRD-PARTY-LICENSES.txt'), renderThirdParty(program.name, bundled));
  await writeFile(join(outdir, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  await writeFile(join(outRoot, `${program.name}.meta.json`), JSON.stringify(meta));
  const eager = eagerOutputs(meta, program.entry);
  const js = Object.entries(meta.outputs).filter(([f]) => f.endsWith('.js'));
  const sum = (files: [string, { bytes: number }][]): number => files.reduce((n, [, o]) => n + o.bytes, 0);
  for (const e of externals) console.log(`  ${program.name}: unbundled ${nameOf(e)}@${lock[e]?.version ?? '?'} (${lock[e]?.license ?? '?'})`);
  return {
    program: program.name,
    eagerJs: sum(js.filter(([f]) => eager.has(f))),
    lazyJs: sum(js.filter(([f]) => !eager.has(f))),
    maps: sum(Object.entries(meta.outputs).filter(([f]) => f.endsWith('.map'))),
    external: externals.length === 0 ? 0 : await sizeOf(join(outdir, 'node_modules')),
    bundled: bundled.length,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(ROOT, 'dist') }, only: { type: 'string', multiple: true } } });
  const only = values.only ?? [];
  const programs = PROGRAMS.filter((p) => only.length === 0 || only.includes(p.name));
  if (programs.length === 0) throw new Error(`--only names no program (${PROGRAMS.map((p) => p.name).join(', ')})`);
  const lock = (JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Lock }).packages;
  await mkdir(values.outdir, { recursive: true });
  const started = performance.now();
  const built = await Promise.all(programs.map((p) => buildProgram(p, values.outdir, lock)));
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  for (const b of built) {
    console.log(`${relative(process.cwd(), join(values.outdir, b.program)) || '.'}/main.js: ${mb(b.eagerJs)} at start, ${mb(b.lazyJs)} on demand, ${mb(b.maps)} source maps, ${mb(b.external)} unbundled; ${String(b.bundled)} packages bundled`);
  }
  console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  process.stderr.write(`hack/build.ts: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
