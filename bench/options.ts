/** BenchOptions are the counts and bounds of one benchmark run; `--quick` shrinks them. */
export interface BenchOptions {
  readonly quick: boolean;
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
  /** runTimeoutMs bounds every single load run; a run cut short counts as an error. */
  readonly runTimeoutMs: number;
}

/** benchOptions reads the command line (`--quick` is the only flag). */
export function benchOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  return quick
    ? {
        quick, repeats: 1, concurrencies: [1, 16], warmupRequests: 150, requests: 600, warmupStreams: 4, streams: 24,
        footprintRequests: 1_000, openStreams: 100, attestationRuns: 5, limitsRuns: 2_000, runTimeoutMs: 30_000,
      }
    : {
        quick, repeats: 3, concurrencies: [1, 16, 64], warmupRequests: 500, requests: 3_000, warmupStreams: 10, streams: 96,
        footprintRequests: 10_000, openStreams: 100, attestationRuns: 15, limitsRuns: 20_000, runTimeoutMs: 120_000,
      };
}
