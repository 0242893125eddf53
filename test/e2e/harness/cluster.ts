import { spawn, spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from '../../harness/commands.ts';
import { signalGroup } from '../../harness/processes.ts';

/**
 * The cluster the e2e suite runs on. `E2E_CLUSTER=kind` (the default) builds the project's images
 * and a kind cluster on this machine with no registry and no way out (hack/images.sh, hack/kind.sh);
 * `E2E_CLUSTER=existing` uses the cluster `KUBECONFIG` names, with images a registry serves.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const IMAGES_SH = join(ROOT, 'hack/images.sh');
const KIND_SH = join(ROOT, 'hack/kind.sh');

/** E2eImages are the three images the suite deploys. */
export interface E2eImages {
  readonly operator: string;
  readonly proxy: string;
  /** helper runs the enclave simulator and the openai-SDK client (test/e2e/images/). */
  readonly helper: string;
  /** redis is the shared limits store (Debian's redis-server). */
  readonly redis: string;
  /** pullPolicy is Never on kind (everything is preloaded), IfNotPresent on an existing cluster. */
  readonly pullPolicy: 'Never' | 'IfNotPresent';
}

/** builtTags are the image references hack/images.sh builds (`--print-tags`: the chart's appVersion unless IMAGE_TAG says otherwise). */
function builtTags(): Record<'proxy' | 'operator' | 'e2e' | 'redis', string> {
  const printed = spawnSync('bash', [IMAGES_SH, '--print-tags'], { encoding: 'utf8' });
  if (printed.status !== 0) throw new Error(`hack/images.sh --print-tags failed: ${printed.stderr}`);
  const tags: Partial<Record<string, string>> = Object.fromEntries(printed.stdout.trim().split('\n').map((line): [string, string] => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  const { proxy, operator, e2e, redis } = tags;
  if (proxy === undefined || operator === undefined || e2e === undefined || redis === undefined) throw new Error(`hack/images.sh --print-tags printed ${printed.stdout}`);
  return { proxy, operator, e2e, redis };
}

const BUILT = builtTags();

/** LOCAL_IMAGES are the tags hack/images.sh builds. */
export const LOCAL_IMAGES: E2eImages = {
  operator: BUILT.operator,
  proxy: BUILT.proxy,
  helper: BUILT.e2e,
  redis: BUILT.redis,
  pullPolicy: 'Never',
};

function cacheDir(): string {
  const base = process.env.AIO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'attested-inference-operator');
  return join(base, 'images');
}

/** imageTarballs are where `hack/images.sh --save --e2e` leaves the images. */
export function imageTarballs(): string[] {
  // hack/images.sh --save names each tarball <repository basename>-<tag>.tar.
  return Object.values(BUILT).map((image) => join(cacheDir(), `${image.slice(image.lastIndexOf('/') + 1).replace(':', '-')}.tar`));
}

/** runHack runs a hack/ script from the repository root (its progress on our stderr). */
export function runHack(script: string, args: readonly string[]): Promise<string> {
  return runScript(script, args, { cwd: ROOT });
}

/** buildImages builds and saves the proxy, operator and helper images. */
export function buildImages(): Promise<string> {
  return runHack(IMAGES_SH, ['--save', '--e2e']);
}

/** KindCluster is a running kind cluster made by hack/kind.sh. */
export interface KindCluster {
  readonly kubeconfigPath: string;
  load(tarballs: readonly string[]): Promise<void>;
  exportLogs(dir: string): Promise<void>;
  down(): Promise<void>;
  /** downNow tears down synchronously, for signal handlers. */
  downNow(): void;
  /** keep leaves the cluster up after this process ends (E2E_KEEP_CLUSTER=1). */
  keep(): void;
}

/**
 * tether starts a detached watchdog that removes the cluster once this process is gone, however it
 * ended (Ctrl-C, a crash, SIGKILL); `release` ends the watchdog after a normal teardown.
 */
function tether(): { release: () => void } {
  const script = `while kill -0 ${String(process.pid)} 2>/dev/null; do sleep 1; done; exec bash "$0" down`;
  const watchdog = spawn('bash', ['-c', script, KIND_SH], { cwd: ROOT, detached: true, stdio: 'ignore' });
  watchdog.unref();
  return {
    release: () => {
      if (watchdog.pid !== undefined) signalGroup(watchdog.pid, 'SIGTERM');
    },
  };
}

/** startKind creates the cluster, tethered to this process; on failure hack/kind.sh has already removed what it made. */
export async function startKind(): Promise<KindCluster> {
  const watchdog = tether();
  const kubeconfigPath = await runHack(KIND_SH, ['up']).catch((error: unknown) => {
    watchdog.release();
    throw error;
  });
  return {
    kubeconfigPath: kubeconfigPath.split('\n').at(-1) ?? '',
    load: async (tarballs) => {
      await runHack(KIND_SH, ['load', ...tarballs]);
    },
    exportLogs: async (dir) => {
      await runHack(KIND_SH, ['logs', dir]);
    },
    down: async () => {
      watchdog.release();
      await runHack(KIND_SH, ['down']);
    },
    downNow: () => {
      watchdog.release();
      spawnSync('bash', [KIND_SH, 'down'], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
    },
    keep: () => {
      watchdog.release();
    },
  };
}

/** existingImages reads the images an existing cluster pulls, from E2E_*_IMAGE. */
export function existingImages(env: NodeJS.ProcessEnv): E2eImages {
  const pick = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`E2E_CLUSTER=existing needs ${name} (an image the cluster can pull)`);
    return value;
  };
  return {
    operator: pick('E2E_OPERATOR_IMAGE'),
    proxy: pick('E2E_PROXY_IMAGE'),
    helper: pick('E2E_HELPER_IMAGE'),
    redis: env.E2E_REDIS_IMAGE ?? 'redis:7.0',
    pullPolicy: 'IfNotPresent',
  };
}
