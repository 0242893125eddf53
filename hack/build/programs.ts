/** Program is one deployable process: its entry point and what it must not load until it needs it. */
export interface Program {
  readonly name: 'proxy' | 'operator';
  readonly entry: string;
  /**
   * lazy are packages the program loads with a dynamic `import()` only when its configuration asks
   * for them. The build fails when one of them lands in the part of the bundle that loads at start,
   * which would grow the idle memory of every process (the reason each was made lazy).
   */
  readonly lazy: readonly string[];
}

/** PROGRAMS are the two images' processes. */
export const PROGRAMS: readonly Program[] = [
  {
    name: 'proxy',
    entry: 'proxy/main.ts',
    // tracing (OTEL_* set), serviceaccount auth, jwt auth, a shared limits store, a Tinfoil upstream.
    lazy: ['@opentelemetry/sdk-node', '@kubernetes/client-node', 'jose', 'ioredis', '@tinfoilsh/verifier'],
  },
  {
    name: 'operator',
    entry: 'operator/main.ts',
    // budget status reads spend from Redis; Tinfoil upstreams are verified by the attestation watcher.
    lazy: ['ioredis', '@tinfoilsh/verifier'],
  },
];

/** External is a production package that is not bundled but copied, as published, beside the bundle. */
export interface External {
  readonly name: string;
  readonly license: string;
  readonly why: string;
}

/**
 * EXTERNALS are the packages left out of the bundle. Nothing needs it technically (no production
 * dependency has a native addon or reads files beside its own modules at run time); the one
 * exception is a licence choice: the AGPL verifier is conveyed unmodified, as its own package with
 * its package.json, so the image ships exactly the component NOTICE names and points at its source.
 * Its own dependencies (MIT and Apache-2.0, listed by the build) come with it, since a package
 * outside the bundle resolves its imports from node_modules.
 */
export const EXTERNALS: readonly External[] = [
  {
    name: '@tinfoilsh/verifier',
    license: 'AGPL-3.0-or-later',
    why: 'AGPL component, shipped unmodified as published (NOTICE; licence text in /app/licenses)',
  },
];
