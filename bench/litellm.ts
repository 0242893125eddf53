import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NO_EGRESS } from '../test/harness/operator-process.ts';
import { freePort, startProcess, type ManagedProcess } from '../test/harness/processes.ts';
import { BENCH_BEARER, MODEL } from './payloads.ts';

/**
 * The optional LiteLLM contender: the LiteLLM proxy from PyPI (installed ahead of the run by
 * bench/setup-litellm.sh into a cached venv), with the benchmark's upstream as its one
 * OpenAI-compatible model, 2 workers, a master key and no database. Absent or failing to start,
 * it is reported as skipped with the reason; the rest of the benchmark runs on.
 */

/** LITELLM_VERSION must match the default in bench/setup-litellm.sh. */
export const LITELLM_VERSION = '1.106.12';
const START_TIMEOUT_MS = 120_000;

/** LiteLLM is a running LiteLLM proxy in front of the upstream. */
export interface LiteLLM {
  readonly url: string;
  readonly version: string;
  stop(): Promise<void>;
}

/** LiteLLMStart is a running contender, or the reason it is not in the race. */
export type LiteLLMStart = { readonly running: LiteLLM } | { readonly skipped: string };

/** litellmExecutable is the cached venv's `litellm`, or undefined when setup-litellm.sh has not run. */
export function litellmExecutable(): string | undefined {
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const venv = join(cache, 'attested-inference-operator', `litellm-${LITELLM_VERSION}`);
  return existsSync(join(venv, '.installed')) ? join(venv, 'bin', 'litellm') : undefined;
}

function config(upstreamUrl: string): string {
  // The master key doubles as the clients' bearer token; LiteLLM refuses weak master keys.
  return `model_list:
  - model_name: ${MODEL}
    litellm_params:
      model: openai/${MODEL}
      api_base: ${upstreamUrl}/v1
      api_key: sk-bench-provider-key
general_settings:
  master_key: ${BENCH_BEARER}
litellm_settings:
  telemetry: false
`;
}

async function waitUntilLive(managed: ManagedProcess, url: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (managed.exited()) throw new Error(`LiteLLM exited at start; see ${managed.logFile}`);
    const live = await fetch(`${url}/health/liveliness`).then((r) => r.ok, () => false);
    if (live) return;
    await sleep(250);
  }
  throw new Error(`LiteLLM did not answer /health/liveliness within ${START_TIMEOUT_MS / 1000} s; see ${managed.logFile}`);
}

/** startLiteLLM runs LiteLLM in front of `upstreamUrl`, or says why it is skipped; it never throws. */
export async function startLiteLLM(dir: string, upstreamUrl: string): Promise<LiteLLMStart> {
  const executable = litellmExecutable();
  if (executable === undefined) return { skipped: `not installed (run bash bench/setup-litellm.sh, LiteLLM ${LITELLM_VERSION})` };
  const home = join(dir, 'litellm');
  mkdirSync(home, { recursive: true });
  const conf = join(home, 'config.yaml');
  writeFileSync(conf, config(upstreamUrl));
  const port = await freePort();
  // No database, the bundled price map instead of a download, and no way off this machine.
  const env = { ...NO_EGRESS, LITELLM_LOCAL_MODEL_COST_MAP: 'True', LITELLM_LOG: 'ERROR', DISABLE_ADMIN_UI: 'True' };
  const args = [...Object.entries(env).map(([k, v]) => `${k}=${v}`), executable, '--config', conf, '--host', '127.0.0.1', '--port', String(port), '--num_workers', '2'];
  const managed = startProcess('litellm', 'env', args, join(home, 'litellm.log'));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilLive(managed, url);
    return { running: { url, version: LITELLM_VERSION, stop: () => managed.stop(5_000) } };
  } catch (error) {
    await managed.stop(2_000);
    return { skipped: `failed to start: ${error instanceof Error ? error.message : String(error)}` };
  }
}
