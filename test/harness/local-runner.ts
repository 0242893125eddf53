import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { childNames } from '../../operator/resources/names.ts';
import { CONFIG_FILE_KEY } from '../../operator/resources/proxy-config.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.ts';

const PROXY_MAIN = fileURLToPath(new URL('../../proxy/main.ts', import.meta.url));

/** LocalProxy is a proxy process started from what the operator rendered for an endpoint. */
export interface LocalProxy {
  readonly apiUrl: string;
  readonly adminUrl: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * runEndpointLocally plays kubelet for one proxy pod on the simulated cluster, where no container
 * runs (docs/architecture.md §8): it reads the ConfigMap and Secret the pod would mount, writes them to
 * files, and starts the real proxy as a local process on loopback ports.
 */
export async function runEndpointLocally(kc: KubeConfig, namespace: string, endpoint: string, options: { secretName: string; secretKey: string; timeoutMs?: number }): Promise<LocalProxy> {
  const core = kc.makeApiClient(CoreV1Api);
  const names = childNames(endpoint);
  let rendered = '';
  await waitFor(`the operator to render ${namespace}/${names.configMap}`, async () => {
    rendered = (await core.readNamespacedConfigMap({ namespace, name: names.configMap })).data?.[CONFIG_FILE_KEY] ?? '';
    return rendered !== '';
  }, { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 250 });
  const secret = await core.readNamespacedSecret({ namespace, name: options.secretName });
  const key = Buffer.from(secret.data?.[options.secretKey] ?? '', 'base64').toString('utf8');
  const dir = await mkdtemp(join(tmpdir(), `aio-local-${endpoint}-`));
  const [apiPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const config = parse(rendered) as { provider: { apiKeyFile?: string }; listen: { host: string; port: number }; admin: { host: string; port: number } };
  config.provider.apiKeyFile = join(dir, 'api-key');
  config.listen = { host: '127.0.0.1', port: apiPort };
  config.admin = { host: '127.0.0.1', port: adminPort };
  await writeFile(join(dir, 'api-key'), key, { mode: 0o600 });
  await writeFile(join(dir, 'proxy.yaml'), stringify(config));
  // The container's environment as the operator rendered it (the development-trust opt-in among it).
  const deployment = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace, name: names.deployment });
  const env = (deployment.spec?.template.spec?.containers.find((c) => c.name === 'proxy')?.env ?? []).map((e) => `${e.name}=${e.value ?? ''}`);
  const proc = startProcess(`proxy ${namespace}/${endpoint}`, 'env', [...env, process.execPath, PROXY_MAIN, '--config', join(dir, 'proxy.yaml')], join(dir, 'proxy.log'));
  const adminUrl = `http://127.0.0.1:${String(adminPort)}`;
  await waitFor('the local proxy to be ready', async () => (await fetch(`${adminUrl}/readyz`)).ok, { timeoutMs: 30_000, process: proc, intervalMs: 100 });
  return {
    apiUrl: `http://127.0.0.1:${String(apiPort)}`,
    adminUrl,
    process: proc,
    async stop(): Promise<void> {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
