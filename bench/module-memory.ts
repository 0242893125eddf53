import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * What each module the proxy loads costs in memory: a fresh Node process per module imports it
 * alone, and reports RSS and V8 heap after a full GC, less the same process's figures before the
 * import. Shared dependencies are counted in every module that pulls them in, so the rows overlap.
 */

const REPO = fileURLToPath(new URL('..', import.meta.url));
const own = (path: string): string => pathToFileURL(`${REPO}${path}`).href;

/** MODULES are the proxy's dependencies (the lazily loaded ones last), its own top modules, and the operator's. */
export const MODULES: readonly string[] = [
  // A TypeScript file without imports: what loading Node's type stripper itself costs.
  own('bench/stats.ts'),
  'pino', 'prom-client', 'undici', 'hpke', 'fastify', '@fastify/cors', 'typebox', 'yaml', 'jose',
  own('proxy/ehbp/client.ts'), own('proxy/config/load.ts'), own('proxy/runtime.ts'), own('proxy/server.ts'),
  '@tinfoilsh/verifier', '@kubernetes/client-node', '@opentelemetry/sdk-node',
  // The operator, for its idle footprint: its Kubernetes client and its whole wiring.
  own('operator/app.ts'),
];

/** ModuleMemory is one module's import cost, in MiB. */
export interface ModuleMemory {
  readonly module: string;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  /** baseRssMiB is the bare process before the import. */
  readonly baseRssMiB: number;
  readonly error?: string;
}

const PROBE = `
const mib = (n) => n / 1048576;
globalThis.gc(); const a = process.memoryUsage();
await import(process.argv[1]);
globalThis.gc(); globalThis.gc(); const b = process.memoryUsage();
process.stdout.write(JSON.stringify({ rssMiB: mib(b.rss - a.rss), heapUsedMiB: mib(b.heapUsed - a.heapUsed), baseRssMiB: mib(a.rss) }));
`;

/** CACHED are measured again with a warm V8 compile cache (NODE_COMPILE_CACHE), which also skips type stripping. */
const CACHED: readonly string[] = [own('bench/stats.ts'), own('proxy/server.ts'), own('operator/app.ts')];

function measureOne(module: string, compileCache?: string): Promise<ModuleMemory> {
  const env = compileCache === undefined ? process.env : { ...process.env, NODE_COMPILE_CACHE: compileCache };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--expose-gc', '--input-type=module', '-e', PROBE, module], { cwd: REPO, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const name = `${module.startsWith('file:') ? module.replace(pathToFileURL(REPO).href, '') : module}${compileCache === undefined ? '' : ' (warm compile cache)'}`;
      if (error !== null) resolve({ module: name, rssMiB: Number.NaN, heapUsedMiB: Number.NaN, baseRssMiB: Number.NaN, error: (stderr || error.message).split('\n')[0] });
      else resolve({ module: name, ...(JSON.parse(stdout) as Omit<ModuleMemory, 'module'>) });
    });
  });
}

/** measureModules measures every module in turn (one process at a time, so they do not compete). */
export async function measureModules(modules: readonly string[] = MODULES): Promise<ModuleMemory[]> {
  const out: ModuleMemory[] = [];
  for (const module of modules) out.push(await measureOne(module));
  const cache = mkdtempSync(join(tmpdir(), 'aio-compile-cache-'));
  try {
    for (const module of CACHED) {
      await measureOne(module, cache);
      out.push(await measureOne(module, cache));
    }
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
  return out;
}
