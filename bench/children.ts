import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CONFIG_API_VERSION } from '../proxy/config/schema.ts';
import { freePort } from '../test/harness/processes.ts';
import type { ProbeSample } from './probe.ts';
import type { UpstreamHello } from './upstream-child.ts';

/**
 * The benchmark's child processes: the upstream (enclave simulator) and real proxies started as
 * `node proxy/main.ts`, each in its own process so the proxy's CPU and memory are its own.
 */

const REPO = fileURLToPath(new URL('..', import.meta.url));
const PROXY_MAIN = join(REPO, 'proxy/main.ts');
const PROBE = new URL('probe.ts', import.meta.url).href;
const UPSTREAM = fileURLToPath(new URL('upstream-child.ts', import.meta.url));
const START_TIMEOUT_MS = 20_000;

/** Upstream is the running upstream child. */
export interface Upstream extends UpstreamHello {
  stop(): Promise<void>;
}

/** ProxyKind: `tinfoil` encrypts (and passes client-sealed bodies through); `plain` forwards to a plaintext upstream. */
export type ProxyKind = 'tinfoil' | 'plain';

/** ProxyChild is a running proxy process. */
export interface ProxyChild {
  readonly apiUrl: string;
  readonly adminUrl: string;
  /** readyMs is the time from spawning the process to the first `/readyz` 200. */
  readonly readyMs: number;
  /** attestedMs is the time from spawning to a verified attestation (tinfoil only). */
  readonly attestedMs: number | undefined;
  probe(): Promise<ProbeSample>;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown): void => {
      done();
      resolve(message as T);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`${what} exited with code ${String(code)} before reporting`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what} did not report within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** startUpstream forks the simulator process, logging to `dir/upstream.log`. */
export async function startUpstream(dir: string): Promise<Upstream> {
  const log = openSync(join(dir, 'upstream.log'), 'a');
  const child = fork(UPSTREAM, [], { stdio: ['ignore', log, log, 'ipc'] });
  closeSync(log);
  try {
    const hello = await firstMessage<UpstreamHello>(child, 'the upstream');
    return { ...hello, stop: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

function proxyConfig(kind: ProxyKind, upstream: Upstream, ports: { api: number; admin: number }, apiKeyFile: string): Record<string, unknown> {
  const provider = kind === 'tinfoil'
    ? { type: 'tinfoil', upstreamUrl: upstream.url, apiKeyFile }
    : { type: 'openai-compatible', upstreamUrl: upstream.url, apiKeyFile, acknowledgeUnattested: true };
  return {
    apiVersion: CONFIG_API_VERSION,
    endpoint: { name: `bench-${kind}`, namespace: 'bench' },
    listen: { host: '127.0.0.1', port: ports.api },
    admin: { host: '127.0.0.1', port: ports.admin },
    provider,
    // Plain http to a loopback upstream needs Development trust; the simulator signs its bundle.
    attestation: { trust: 'Development', bundleUrl: upstream.url, developmentPublicKey: upstream.publicKeyPem },
    prices: { currency: 'USD', models: { 'llama3-3-70b': { inputPerMillion: 900_000, outputPerMillion: 1_200_000 } } },
    shutdownGraceSeconds: 1,
    shutdownDrainSeconds: 0,
    logLevel: 'info',
  };
}

async function pollUntil(check: () => Promise<boolean>, what: string, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the proxy exited with code ${child.exitCode} while waiting for ${what}`);
    if (await check().catch(() => false)) return;
    await sleep(2);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function attestationVerified(adminUrl: string): Promise<boolean> {
  const response = await fetch(`${adminUrl}/admin/attestation`);
  return ((await response.json()) as { status?: string }).status === 'verified';
}

function probeOf(child: ChildProcess): () => Promise<ProbeSample> {
  return async () => {
    const answer = firstMessage<ProbeSample>(child, 'the proxy probe');
    child.send('probe');
    return answer;
  };
}

/**
 * startProxy spawns `node proxy/main.ts` for `kind` and waits until it is ready (and attested);
 * `nodeFlags` go to node before the probe (`--cpu-prof` and its options when profiling).
 */
export async function startProxy(kind: ProxyKind, upstream: Upstream, dir: string, nodeFlags: readonly string[] = []): Promise<ProxyChild> {
  const [api, admin] = [await freePort(), await freePort()];
  const apiKeyFile = join(dir, 'provider-key');
  writeFileSync(apiKeyFile, 'sk-bench-provider-key');
  const configFile = join(dir, `proxy-${kind}-${api}.json`);
  writeFileSync(configFile, JSON.stringify(proxyConfig(kind, upstream, { api, admin }, apiKeyFile)));
  const log = openSync(join(dir, `proxy-${kind}-${api}.log`), 'a');
  const started = performance.now();
  // Development trust (the simulator's key) needs the proxy's explicit opt-in (proxy/config/load.ts).
  const child = fork(PROXY_MAIN, ['--config', configFile], { execArgv: [...nodeFlags, '--import', PROBE], stdio: ['ignore', log, log, 'ipc'], env: { ...process.env, AIO_ALLOW_DEVELOPMENT_TRUST: 'true' } });
  closeSync(log);
  const apiUrl = `http://127.0.0.1:${api}`;
  const adminUrl = `http://127.0.0.1:${admin}`;
  try {
    await pollUntil(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, '/readyz', child);
    const readyMs = performance.now() - started;
    let attestedMs: number | undefined;
    if (kind === 'tinfoil') {
      await pollUntil(() => attestationVerified(adminUrl), 'a verified attestation', child);
      attestedMs = performance.now() - started;
    }
    return { apiUrl, adminUrl, readyMs, attestedMs, probe: probeOf(child), stop: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}
