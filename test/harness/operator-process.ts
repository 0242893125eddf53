import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.ts';

const OPERATOR_MAIN = fileURLToPath(new URL('../../operator/main.ts', import.meta.url));

/** OperatorProcess is the real operator running as a local process against a local control plane. */
export interface OperatorProcess {
  readonly process: ManagedProcess;
  readonly probeUrl: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * NO_EGRESS keeps the operator's own HTTPS requests on this machine: Node.js sends them to a proxy
 * address nothing listens on, so a sample naming a public attestation service fails to fetch
 * instead of leaving the machine, while loopback (the enclave simulator) is reached directly.
 */
export const NO_EGRESS: NodeJS.ProcessEnv = { NODE_USE_ENV_PROXY: '1', HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1,localhost,::1' };

/**
 * startOperatorProcess runs `node operator/main.ts` (or `main`, e.g. the bundle `npm run build`
 * wrote, `dist/operator/main.js`) with development trust allowed, waiting for /readyz.
 */
export async function startOperatorProcess(p: { kubeconfig: string; logDir: string; leaseNamespace: string; name?: string; extraArgs?: readonly string[]; main?: string }): Promise<OperatorProcess> {
  const probePort = await freePort();
  const logFile = join(p.logDir, `${p.name ?? 'operator'}.log`);
  const args = [
    p.main ?? OPERATOR_MAIN,
    `--kubeconfig=${p.kubeconfig}`,
    '--proxy-image=registry.local/attested-inference-proxy:dev',
    '--proxy-image-pull-policy=Never',
    '--allow-development-trust',
    `--lease-namespace=${p.leaseNamespace}`,
    '--probe-host=127.0.0.1',
    `--probe-port=${String(probePort)}`,
    ...(p.extraArgs ?? []),
  ];
  const proc = startProcess(p.name ?? 'operator', 'env', [...Object.entries({ ...NO_EGRESS, POD_NAME: p.name ?? 'operator' }).map(([k, v]) => `${k}=${v}`), process.execPath, ...args], logFile);
  const probeUrl = `http://127.0.0.1:${String(probePort)}`;
  await waitFor('the operator to be ready', async () => (await fetch(`${probeUrl}/readyz`)).ok, { timeoutMs: 30_000, process: proc, intervalMs: 100 });
  return { process: proc, probeUrl, logFile, stop: () => proc.stop() };
}
