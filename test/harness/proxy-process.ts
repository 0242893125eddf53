import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.ts';

const MAIN = fileURLToPath(new URL('../../proxy/main.ts', import.meta.url));

/** ProxyProcess is the real proxy running as a child process (`node proxy/main.ts --config FILE`). */
export interface ProxyProcess {
  readonly name: string;
  readonly apiUrl: string;
  readonly adminUrl: string;
  readonly process: ManagedProcess;
  metrics(): Promise<string>;
  /** status is `/admin/status`. */
  status(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * ProxyProcessOptions: `main` runs another entry point, e.g. the bundle `npm run build` wrote
 * (`dist/proxy/main.js`); `env` adds variables (KUBECONFIG for a TokenReview client off-cluster).
 */
export interface ProxyProcessOptions {
  readonly main?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * startProxyProcess writes `config` (with free loopback ports and a provider key file added) into
 * `dir`, starts the proxy as a process tethered to this one, logging to `<dir>/<name>.log`, and
 * resolves once it is ready and, for an attested provider, has verified its upstream.
 */
export async function startProxyProcess(name: string, config: Record<string, unknown>, dir: string, options: ProxyProcessOptions = {}): Promise<ProxyProcess> {
  const [apiPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const apiKeyFile = join(dir, `${name}-api-key`);
  await writeFile(apiKeyFile, 'sk-test-provider-key');
  const provider = { apiKeyFile, ...(config.provider as Record<string, unknown> | undefined) };
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, stringify({ ...config, provider, listen: { host: '127.0.0.1', port: apiPort }, admin: { host: '127.0.0.1', port: adminPort } }));
  // The test proxies trust the enclave simulator: development trust, opted into as the operator does (proxy/config/load.ts).
  const child = startProcess(name, 'env', ['AIO_ALLOW_DEVELOPMENT_TRUST=true', ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`), process.execPath, options.main ?? MAIN, '--config', file], join(dir, `${name}.log`));
  const adminUrl = `http://127.0.0.1:${String(adminPort)}`;
  const status = async (): Promise<Record<string, unknown>> => (await (await fetch(`${adminUrl}/admin/status`)).json()) as Record<string, unknown>;
  await waitFor(`${name} to be ready`, async () => (await fetch(`${adminUrl}/readyz`)).ok, { timeoutMs: 30_000, process: child });
  await waitFor(`${name} to attest its upstream`, async () => {
    const attestation = (await status()).attestation as { status: string };
    return attestation.status === 'verified' || attestation.status === 'unattested';
  }, { timeoutMs: 20_000, process: child });
  return {
    name,
    apiUrl: `http://127.0.0.1:${String(apiPort)}`,
    adminUrl,
    process: child,
    metrics: async () => (await fetch(`${adminUrl}/metrics`)).text(),
    status,
    stop: () => child.stop(),
  };
}
