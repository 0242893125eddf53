import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../proxy/config/load.ts';
import { DEVELOPMENT_TRUST_ENV } from './config-problems.ts';
import { CONFIG_API_VERSION, type ProxyConfig } from '../../proxy/config/schema.ts';
import { createRuntime, type Runtime } from '../../proxy/runtime.ts';
import { startProxy, type RunningProxy } from '../../proxy/server.ts';
import { createLogger } from '../../proxy/telemetry/logger.ts';
import type { EnclaveSimulator } from './enclave-simulator/index.ts';
import { freePort } from './processes.ts';

/** TestProxy is an in-process proxy wired to a simulator, with its logs captured. */
export interface TestProxy extends RunningProxy {
  readonly runtime: Runtime;
  readonly config: ProxyConfig;
  readonly dir: string;
  readonly apiKeyFile: string;
  /** logs returns every JSON log line written so far. */
  logs(): string[];
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** simulatorConfig is a proxy configuration that trusts `simulator` through development trust. */
export function simulatorConfig(simulator: EnclaveSimulator, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { provider, attestation, ...rest } = overrides as { provider?: object; attestation?: object };
  return {
    apiVersion: CONFIG_API_VERSION,
    endpoint: { name: 'test', namespace: 'proxy-tests' },
    provider: { type: 'tinfoil', upstreamUrl: simulator.url, ...provider },
    attestation: { trust: 'Development', bundleUrl: simulator.url, developmentPublicKey: simulator.developmentPublicKeyPem, ...attestation },
    prices: { currency: 'USD', models: { 'llama3-3-70b': { inputPerMillion: 900_000, cachedInputPerMillion: 450_000, outputPerMillion: 1_200_000 } } },
    logLevel: 'info',
    ...rest,
  };
}

/**
 * startTestProxy runs the real proxy in this process on free loopback ports, with the provider key
 * in a file of its own, and waits until its first attestation finished (verified or failed).
 */
export async function startTestProxy(raw: Record<string, unknown>, options: { apiKey?: string; apiKeys?: readonly string[]; noProviderKey?: boolean; waitForAttestation?: boolean } = {}): Promise<TestProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'aio-proxy-'));
  const apiKeyFile = join(dir, 'api-key');
  await writeFile(apiKeyFile, options.apiKey ?? 'sk-test-provider-key');
  // A pool: one file per key, as the operator mounts them (api-key-0, api-key-1, ...).
  const pool = options.apiKeys?.map((_, i) => join(dir, `api-key-${String(i)}`));
  await Promise.all((options.apiKeys ?? []).map((key, i) => writeFile(join(dir, `api-key-${String(i)}`), key)));
  const [apiPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const rawProvider = (raw.provider ?? {}) as Record<string, unknown>;
  const config = parseConfig({
    shutdownDrainSeconds: 0,
    ...raw,
    provider: { ...(options.noProviderKey === true ? {} : pool ? { apiKeyFiles: pool } : { apiKeyFile }), ...rawProvider },
    listen: { host: '127.0.0.1', port: apiPort },
    admin: { host: '127.0.0.1', port: adminPort },
  }, DEVELOPMENT_TRUST_ENV); // the test proxies trust the enclave simulator
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, callback): void {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const runtime = await createRuntime(config, { logger });
  const proxy = await startProxy(runtime, logger);
  if (options.waitForAttestation !== false && runtime.provider.attested) {
    for (let i = 0; i < 200 && runtime.provider.attestation().status === 'pending'; i++) await new Promise((r) => setTimeout(r, 25));
  }
  return {
    ...proxy,
    runtime,
    config,
    dir,
    apiKeyFile,
    logs: () => [...lines],
    metrics: () => runtime.registry.metrics(),
    async close(): Promise<void> {
      await proxy.shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** metricValue reads one sample from Prometheus text, matching every given label; undefined when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
