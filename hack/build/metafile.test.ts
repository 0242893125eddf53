import { describe, expect, it } from 'vitest';
import { eagerLazy, eagerOutputs, entryOutput, externalImports, packagesIn, type Metafile } from './metafile.ts';

const output = (inputs: string[], imports: Metafile['outputs'][string]['imports'] = [], entryPoint?: string): Metafile['outputs'][string] => ({
  bytes: 1,
  ...(entryPoint === undefined ? {} : { entryPoint }),
  inputs: Object.fromEntries(inputs.map((i) => [i, { bytesInOutput: 1 }])),
  imports,
});

/** META: main statically imports a shared chunk and loads the tracing and Kubernetes chunks on demand. */
const META: Metafile = {
  outputs: {
    'dist/proxy/main.js': output(['proxy/main.ts', 'node_modules/fastify/fastify.js'], [
      { path: 'dist/proxy/chunks/shared.js', kind: 'import-statement' },
      { path: 'dist/proxy/chunks/tracing.js', kind: 'dynamic-import' },
      { path: 'dist/proxy/chunks/kube.js', kind: 'dynamic-import' },
      { path: 'node:http', kind: 'import-statement', external: true },
      { path: 'fs', kind: 'require-call', external: true },
    ], 'proxy/main.ts'),
    'dist/proxy/chunks/shared.js': output(['node_modules/undici/index.js']),
    'dist/proxy/chunks/tracing.js': output(['proxy/telemetry/tracing.ts', 'node_modules/@opentelemetry/sdk-node/build/index.js'], [{ path: 'dist/proxy/chunks/shared.js', kind: 'import-statement' }]),
    'dist/proxy/chunks/kube.js': output(['node_modules/@kubernetes/client-node/dist/index.js'], [{ path: '@tinfoilsh/verifier', kind: 'import-statement', external: true }]),
    'dist/proxy/main.js.map': output([]),
  },
};

describe('the metafile', () => {
  it('finds the output of an entry point, or says there is none', () => {
    expect(entryOutput(META, 'proxy/main.ts')).toBe('dist/proxy/main.js');
    expect(() => entryOutput(META, 'operator/main.ts')).toThrow(/no output for the entry point operator\/main.ts/);
  });
  it('follows static imports only for what loads at start', () => {
    expect([...eagerOutputs(META, 'proxy/main.ts')].sort()).toEqual(['dist/proxy/chunks/shared.js', 'dist/proxy/main.js']);
  });
  it('names the packages in a set of outputs', () => {
    expect([...packagesIn(META, eagerOutputs(META, 'proxy/main.ts'))].sort()).toEqual(['node_modules/fastify', 'node_modules/undici']);
  });
  it('catches a lazy package that loads at start, and passes one that does not', () => {
    expect(eagerLazy(META, 'proxy/main.ts', ['@opentelemetry/sdk-node', '@kubernetes/client-node'])).toEqual([]);
    const eager: Metafile = { outputs: { ...META.outputs, 'dist/proxy/chunks/shared.js': output(['node_modules/undici/index.js', 'node_modules/@kubernetes/client-node/dist/index.js']) } };
    expect(eagerLazy(eager, 'proxy/main.ts', ['@opentelemetry/sdk-node', '@kubernetes/client-node'])).toEqual(['@kubernetes/client-node']);
  });
  it('lists the bare imports left to node_modules, built-in modules aside', () => {
    expect([...externalImports(META)]).toEqual(['@tinfoilsh/verifier']);
  });
});
