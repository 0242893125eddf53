/** The shapes the benchmark reports, written as JSON and rendered as tables. */
import type { ImageSize } from './image-sizes.ts';

export type Scenario = '1KB' | '32KB' | 'stream';
export type Group = 'plain' | 'ehbp';

/** ContenderId names who answers: the upstream directly, our proxy in one mode, or another proxy. */
export type ContenderId = 'direct-plain' | 'proxy-plain' | 'nginx' | 'litellm' | 'direct-sealed' | 'proxy-encrypting' | 'proxy-passthrough';

export const CONTENDER_LABELS: Readonly<Record<ContenderId, string>> = {
  'direct-plain': 'direct (plain upstream)',
  'proxy-plain': 'proxy, plain forwarding',
  nginx: 'nginx proxy_pass',
  litellm: 'LiteLLM',
  'direct-sealed': 'direct (client seals, EHBP)',
  'proxy-encrypting': 'proxy, encrypting',
  'proxy-passthrough': 'proxy, passthrough (client-sealed)',
};

/** RunMeasure is one measured run of one contender (milliseconds unless named otherwise). */
export interface RunMeasure {
  readonly completed: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** cpuSecPer1k is the proxy process's CPU seconds per 1,000 requests; absent without a proxy of ours. */
  readonly cpuSecPer1k?: number;
  readonly ttfbP50Ms?: number;
  readonly ttfbP99Ms?: number;
  /** bodyMs is the median time from the first body byte to the end of a stream. */
  readonly bodyMs?: number;
}

/** OverheadRow is one contender in one scenario at one concurrency: medians over the repeats. */
export interface OverheadRow {
  readonly scenario: Scenario;
  readonly concurrency: number;
  readonly group: Group;
  readonly contender: ContenderId;
  /** note is set instead of numbers when the contender did not run ("not installed", "not measured"). */
  readonly note?: string;
  readonly repeats: number;
  readonly requests?: number;
  readonly errors?: number;
  readonly rps?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly addedP50Ms?: number;
  readonly addedP99Ms?: number;
  readonly cpuSecPer1k?: number;
  readonly ttfbP50Ms?: number;
  readonly ttfbP99Ms?: number;
  readonly addedTtfbP50Ms?: number;
  readonly addedTtfbP99Ms?: number;
  readonly perChunkUs?: number;
}

/** Footprint is the proxy process's memory and start-up time. */
export interface Footprint {
  readonly readyMs: number;
  readonly attestedMs?: number;
  readonly idleRssMiB: number;
  readonly afterRequestsRssMiB: number;
  readonly afterRequests: number;
  readonly openStreamsRssMiB?: number;
  readonly openStreams: number;
  readonly openStreamsReached: number;
  /** heapUsedMiB are the V8 heap's live bytes at the three samples: idle, after requests, with streams open. */
  readonly heapUsedMiB: readonly number[];
  /** images are the sizes of the images the last hack/images.sh run on this machine built, if any. */
  readonly images?: readonly ImageSize[];
  readonly errors: number;
}

/** AttestationCost is the median time of one verification, or why it was skipped. */
export interface AttestationCost {
  readonly name: string;
  readonly runs: number;
  /** firstMs is the first (cold) verification, not part of the median. */
  readonly firstMs?: number;
  readonly medianMs?: number;
  readonly minMs?: number;
  readonly maxMs?: number;
  readonly skipped?: string;
  readonly errors: number;
}

/**
 * LimitsTiming is one store's check (before a request's body is read), reservation (once it is
 * read) and settlement (after the request), in microseconds.
 */
export interface LimitsTiming {
  readonly admitP50Us: number;
  readonly admitP99Us: number;
  readonly reserveP50Us: number;
  readonly reserveP99Us: number;
  readonly chargeP50Us: number;
  readonly chargeP99Us: number;
}

/** LimitsCost compares the limiter on the in-memory store and on a loopback Redis. */
export interface LimitsCost {
  readonly runs: number;
  /** buckets is how many buckets each check covers (in one round trip to Redis). */
  readonly buckets: number;
  readonly memory: LimitsTiming;
  readonly redis: LimitsTiming;
  readonly addedP50Us: number;
  readonly addedP99Us: number;
}

/** ScaleSteady is the quiet window after every endpoint is Ready. */
export interface ScaleSteady {
  readonly seconds: number;
  /** writes are the operator's creates, updates, patches and deletes, its leader lease aside. */
  readonly writes: number;
  readonly writesByRequest: Readonly<Record<string, number>>;
  readonly leaseRenewals: number;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
}

/** ScaleRollout is a release switch of the upstream some endpoints use, until their pods all rolled. */
export interface ScaleRollout {
  readonly endpoints: number;
  readonly completed: number;
  /** templateP50S/P99S: switch to the Deployment's pod template carrying the new digest. */
  readonly templateP50S?: number;
  readonly templateP99S?: number;
  /** allDoneS: switch to the last affected Deployment fully rolled out (updated, ready, old pods gone). */
  readonly allDoneS?: number;
  readonly recheckIntervalS: number;
}

/** OperatorScale is the operator managing many endpoints on the local control plane (kwok nodes). */
export interface OperatorScale {
  /** kubernetes names the control plane's binaries (the pinned release the harness builds). */
  readonly kubernetes: string;
  readonly endpoints: number;
  readonly namespaces: number;
  readonly nodes: number;
  readonly controlPlaneStartS: number;
  /** createS is the time to send every create (16 at a time). */
  readonly createS: number;
  readonly ready: number;
  /** allReadyS is the first create to the last endpoint Ready=True. */
  readonly allReadyS?: number;
  readonly toDeploymentP50Ms?: number;
  readonly toDeploymentP99Ms?: number;
  readonly toDeploymentMaxMs?: number;
  /** idleRssMiB is the operator's RSS before the first create (informers synced, no endpoints). */
  readonly idleRssMiB: number;
  readonly peakRssMiB: number;
  readonly readyRssMiB: number;
  readonly createCpuSeconds: number;
  /** requestsPerEndpoint and writesPerEndpoint cover creation up to all Ready, every request of the operator's. */
  readonly requestsPerEndpoint: number;
  readonly writesPerEndpoint: number;
  readonly requests: Readonly<Record<string, number>>;
  readonly reconciles: number;
  readonly reconcileP50Ms?: number;
  readonly reconcileP99Ms?: number;
  readonly steady?: ScaleSteady;
  readonly rollout?: ScaleRollout;
  readonly errors: number;
  readonly notes: readonly string[];
}

/** Target is one goal from the issue, judged against this run's numbers. */
export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  readonly verdict: 'met' | 'not met' | 'not measured';
}

/** Machine describes where the numbers were taken. */
export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kubernetes: string;
  readonly nginx: string;
  readonly litellm: string;
  readonly platform: string;
  readonly loadAverage: readonly number[];
}

/** BenchReport is everything one run produced. */
export interface BenchReport {
  readonly startedAt: string;
  readonly durationS: number;
  readonly mode: 'quick' | 'full';
  readonly machine: Machine;
  readonly overhead: readonly OverheadRow[];
  readonly footprint?: Footprint;
  readonly attestation: readonly AttestationCost[];
  readonly limits?: LimitsCost;
  readonly operatorScale?: OperatorScale;
  readonly targets: readonly Target[];
  readonly notMeasured: readonly string[];
  readonly errors: number;
  readonly failures: readonly string[];
}
