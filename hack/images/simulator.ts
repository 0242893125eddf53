// Smoke-test helper for hack/images.sh: starts the enclave simulator on loopback and writes, into
// the folder given as the only argument, a proxy configuration (`proxy.yaml`, JSON is YAML) and the
// provider key file (`api-key`) for a proxy container that mounts that folder read-only at
// /etc/attested-inference and shares the host's network. Prints one JSON line with the simulator's
// URL and the proxy's ports, then serves until SIGTERM/SIGINT.
//   node hack/images/simulator.ts DIR
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEnclaveSimulator } from '../../test/harness/enclave-simulator/index.ts';
import { freePort } from '../../test/harness/processes.ts';
import { simulatorConfig } from '../../test/harness/test-proxy.ts';

/** MOUNT is where the container sees DIR; the proxy's default configuration path lives there. */
const MOUNT = '/etc/attested-inference';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (dir === undefined || dir === '') throw new Error('usage: node hack/images/simulator.ts DIR');
  const simulator = await startEnclaveSimulator({ host: '127.0.0.1' });
  const [apiPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const config = simulatorConfig(simulator, {
    endpoint: { name: 'image-smoke', namespace: 'images' },
    provider: { apiKeyFile: `${MOUNT}/api-key` },
    listen: { host: '127.0.0.1', port: apiPort },
    admin: { host: '127.0.0.1', port: adminPort },
  });
  // The container runs as 65532 and reads these through a read-only bind mount.
  await writeFile(join(dir, 'proxy.yaml'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  await writeFile(join(dir, 'api-key'), 'sk-image-smoke-provider-key', { mode: 0o644 });
  await chmod(dir, 0o755);
  process.stdout.write(`${JSON.stringify({ url: simulator.url, apiPort, adminPort })}\n`);
  const stop = (): void => {
    void simulator.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
