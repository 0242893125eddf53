/** Section is one part of the benchmark; `--only a,b` runs just those. */
export type Section = 'overhead' | 'footprint' | 'attestation' | 'limits' | 'operator';
export const SECTIONS: readonly Section[] = ['overhead', 'footprint', 'attestation', 'limits', 'operator'];

/** BenchOptions are the counts and bounds of one benchmark run; `--quick` shrinks them. */
export interface BenchOptions {
  readonly quick: boolean;
  /** profile runs bench/profile.ts (CPU profiles and memory per module) instead of the measurements. */
  readonly profile: boolean;
  readonly sections: readonly Section[];
  readonly repeats: number;
  readonly concurrencies: readonly number[];
  /** warmupRequests are sent (and discarded) before every measured non-streaming run. */
  readonly warmupRequests: number;
  readonly requests: number;
  readonly warmupStreams: number;
  readonly streams: number;
  /** footprintRequests are sent before the "after requests" RSS sample. */
  readonly footprintRequests: number;
  readonly openStreams: number;
  readonly attestationRuns: number;
  /** limitsRuns is how many checks and charges are timed per limits store. */
  readonly limitsRuns: number;
  /** litellm is the LiteLLM contender's smaller budget: it answers two orders of magnitude slower. */
  readonly litellm: { readonly repeats: number; readonly warmupRequests: number; readonly requests: number; readonly streams: number };
  /** scale sizes the operator-at-scale section: endpoints over namespaces, the quiet window, the endpoints whose upstream switches release. */
  readonly scale: { readonly endpoints: number; readonly namespaces: number; readonly steadySeconds: number; readonly rolloutEndpoints: number; readonly readyTimeoutS: number };
  /** runTimeoutMs bounds every single load run; a run cut short counts as an error. */
  readonly runTimeoutMs: number;
}

function sectionsOf(argv: readonly string[]): Section[] {
  const at = argv.indexOf('--only');
  if (at < 0) return [...SECTIONS];
  const names = (argv[at + 1] ?? '').split(',').filter((n) => n !== '');
  const unknown = names.filter((n) => !SECTIONS.includes(n as Section));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(', ')}`);
  return names as Section[];
}

/** benchOptions reads the command line: `--quick`, `--only SECTION[,SECTION]` and `--profile`. */
export function benchOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const sections = sectionsOf(argv);
  const profile = argv.includes('--profile');
  return quick
    ? {
        quick, profile, sections, repeats: 1, concurrencies: [1, 16], warmupRequests: 150, requests: 600, warmupStreams: 4, streams: 24,
        footprintRequests: 1_000, openStreams: 100, attestationRuns: 5, limitsRuns: 2_000, runTimeoutMs: 30_000,
        litellm: { repeats: 1, warmupRequests: 20, requests: 150, streams: 16 },
        scale: { endpoints: 100, namespaces: 50, steadySeconds: 10, rolloutEndpoints: 10, readyTimeoutS: 120 },
      }
    : {
        quick, profile, sections, repeats: 3, concurrencies: [1, 16, 64], warmupRequests: 500, requests: 3_000, warmupStreams: 10, streams: 96,
        footprintRequests: 10_000, openStreams: 100, attestationRuns: 15, limitsRuns: 20_000, runTimeoutMs: 120_000,
        litellm: { repeats: 3, warmupRequests: 100, requests: 600, streams: 64 },
        scale: { endpoints: 1_000, namespaces: 50, steadySeconds: 30, rolloutEndpoints: 100, readyTimeoutS: 300 },
      };
}
