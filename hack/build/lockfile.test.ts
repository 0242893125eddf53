import { describe, expect, it } from 'vitest';
import { developmentOnly, nameOf, packageOf, resolveFrom, runtimeClosure, type Lock } from './lockfile.ts';

const LOCK: Lock = {
  '': { dependencies: { verifier: '1' } },
  'node_modules/verifier': { version: '1.0.0', license: 'AGPL-3.0-or-later', dependencies: { sigstore: '1', curves: '1' } },
  'node_modules/sigstore': { version: '0.1.0', dependencies: { curves: '2' }, optionalDependencies: { native: '1', absent: '1' } },
  'node_modules/sigstore/node_modules/curves': { version: '2.0.0', dependencies: { hashes: '2' } },
  'node_modules/sigstore/node_modules/hashes': { version: '2.0.0' },
  'node_modules/curves': { version: '1.0.0', dependencies: { hashes: '1' } },
  'node_modules/hashes': { version: '1.0.0' },
  'node_modules/native': { version: '1.0.0', dev: true },
  'node_modules/@scope/tool': { version: '3.0.0', dev: true },
};

describe('packageOf', () => {
  it('names the innermost package of a file, scoped or not, nested or not', () => {
    expect(packageOf('node_modules/pino/lib/tools.js')).toBe('node_modules/pino');
    expect(packageOf('node_modules/@scope/tool/dist/index.js')).toBe('node_modules/@scope/tool');
    expect(packageOf('node_modules/sigstore/node_modules/@noble/curves/esm/index.js')).toBe('node_modules/sigstore/node_modules/@noble/curves');
  });
  it('says a file of the project itself belongs to no package', () => {
    expect(packageOf('proxy/main.ts')).toBeUndefined();
    expect(packageOf('node_modules/@scope')).toBeUndefined();
  });
  it('is undone by nameOf', () => {
    expect(nameOf('node_modules/sigstore/node_modules/@noble/curves')).toBe('@noble/curves');
  });
});

describe('resolveFrom', () => {
  it('walks up the node_modules folders as Node does', () => {
    expect(resolveFrom(LOCK, 'node_modules/sigstore', 'curves')).toBe('node_modules/sigstore/node_modules/curves');
    expect(resolveFrom(LOCK, 'node_modules/sigstore/node_modules/curves', 'hashes')).toBe('node_modules/sigstore/node_modules/hashes');
    expect(resolveFrom(LOCK, 'node_modules/verifier', 'curves')).toBe('node_modules/curves');
    expect(resolveFrom(LOCK, 'node_modules/verifier', 'missing')).toBeUndefined();
  });
});

describe('runtimeClosure', () => {
  it('is the package and every version of every dependency it loads, without development or absent optional ones', () => {
    expect(runtimeClosure(LOCK, 'verifier')).toEqual([
      'node_modules/curves',
      'node_modules/hashes',
      'node_modules/sigstore',
      'node_modules/sigstore/node_modules/curves',
      'node_modules/sigstore/node_modules/hashes',
      'node_modules/verifier',
    ]);
  });
  it('refuses a package that is missing, or that only development installs', () => {
    expect(() => runtimeClosure(LOCK, 'nothing')).toThrow(/nothing is not in package-lock.json/);
    expect(() => runtimeClosure(LOCK, '@scope/tool')).toThrow(/development dependency/);
    expect(() => runtimeClosure({ ...LOCK, 'node_modules/hashes': undefined as never }, 'verifier')).toThrow(/hashes, a dependency of node_modules\/curves/);
  });
});

describe('developmentOnly', () => {
  it('picks the development-only installs', () => {
    expect(developmentOnly(LOCK, ['node_modules/hashes', 'node_modules/@scope/tool', 'node_modules/native'])).toEqual(['node_modules/@scope/tool', 'node_modules/native']);
  });
});
