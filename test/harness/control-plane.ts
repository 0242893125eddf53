import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createCertificateAuthority, createSigningKeyPair, issueCertificate } from '../../operator/tls/pki.ts';
import { ensureKubernetesBinaries, type KubernetesBinaries } from './binaries.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.ts';
import { createFakeNodes } from './fake-nodes.ts';
import { adminKubeconfig } from './kubeconfig.ts';
import { kubeTools, type KubeTools } from './commands.ts';
import { auditArgs, writeAuditPolicy } from './audit.ts';
import { writeWebhookClientAuth, type WebhookClientFiles } from './webhook-client-auth.ts';

/** ControlPlaneOptions: how many simulated nodes, and where progress lines go. */
export interface ControlPlaneOptions {
  readonly nodes?: number;
  readonly log?: (line: string) => void;
  /**
   * controllersQps raises the controller-manager's and scheduler's client rate limits (20 and 50
   * requests per second by default), which otherwise pace how fast many Deployments get pods.
   */
  readonly controllersQps?: number;
  /** audit makes the API server log every request at the Metadata level (test/harness/audit.ts). */
  readonly audit?: boolean;
  /** admissionPlugins are enabled beside the defaults (--enable-admission-plugins), e.g. OwnerReferencesPermissionEnforcement. */
  readonly admissionPlugins?: readonly string[];
  /** webhookClientAuth makes the API server present a client certificate to admission webhooks (test/harness/webhook-client-auth.ts). */
  readonly webhookClientAuth?: boolean;
}

/** ControlPlane is a running etcd, kube-apiserver, controller-manager, scheduler and kwok. */
export interface ControlPlane extends KubeTools {
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly workDir: string;
  readonly binaries: KubernetesBinaries;
  readonly startupMs: number;
  readonly nodeNames: readonly string[];
  readonly caPem: string;
  /** auditLog is the API server's audit log (JSON lines), when started with `audit`; readAuditEvents parses it. */
  readonly auditLog?: string;
  /** webhookClient is the API server's client certificate for admission webhooks and its CA, when started with `webhookClientAuth`. */
  readonly webhookClient?: WebhookClientFiles;
  kubeConfig(): KubeConfig;
  /** stop ends every process and removes the work folder, unless `keepLogs` (then the folder is kept and named). */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

interface Files {
  readonly caPem: string;
  readonly caCert: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly saPublic: string;
  readonly saPrivate: string;
  readonly adminKubeconfig: string;
}

async function writePki(dir: string, server: string): Promise<Files> {
  const ca = await createCertificateAuthority('attested-inference-test-ca');
  const serving = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    usage: 'server',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
    ipAddresses: ['127.0.0.1', '10.96.0.1'],
  });
  const admin = await issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
  const sa = await createSigningKeyPair();
  const files: Files = {
    caPem: ca.certPem,
    caCert: join(dir, 'ca.crt'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    saPublic: join(dir, 'sa.pub'),
    saPrivate: join(dir, 'sa.key'),
    adminKubeconfig: join(dir, 'admin.kubeconfig'),
  };
  await Promise.all([
    writeFile(files.caCert, ca.certPem),
    writeFile(files.servingCert, serving.certPem),
    writeFile(files.servingKey, serving.keyPem, { mode: 0o600 }),
    writeFile(files.saPublic, sa.publicKeyPem),
    writeFile(files.saPrivate, sa.privateKeyPem, { mode: 0o600 }),
    writeFile(files.adminKubeconfig, adminKubeconfig({ server, caPem: ca.certPem, client: admin }), { mode: 0o600 }),
  ]);
  return files;
}

// Health endpoints of every component are open to anonymous callers (system:public-info-viewer);
// the components serve self-signed certificates on loopback, so the probe does not verify them.
function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const options = { timeout: 2000, rejectUnauthorized: false };
    const send = url.startsWith('https:') ? request : httpRequest;
    const req = send(url, options, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** etcdDataDir is where etcd keeps its data: on a tmpfs, since etcd fsyncs on every write. */
export function etcdDataDir(workDir: string): string {
  return existsSync('/dev/shm') ? join('/dev/shm', `${basename(workDir)}-etcd`) : join(workDir, 'etcd');
}

/** startControlPlane brings up a complete local control plane on free loopback ports. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[control-plane] ${line}\n`));
  const binaries = await ensureKubernetesBinaries();
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'aio-control-plane-'));
  const etcdDir = etcdDataDir(workDir);
  await mkdir(etcdDir);
  const logs = join(workDir, 'logs');
  await mkdir(logs);
  const [etcdPort, peerPort, apiPort, kcmPort, schedPort, kwokPort] = await Promise.all(
    [freePort(), freePort(), freePort(), freePort(), freePort(), freePort()],
  );
  const server = `https://127.0.0.1:${String(apiPort)}`;
  const files = await writePki(workDir, server);
  const webhookClient = options.webhookClientAuth === true ? await writeWebhookClientAuth(workDir) : undefined;
  const procs: ManagedProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of procs.reverse()) await p.stop();
    await rm(etcdDir, { recursive: true, force: true });
  };
  try {
    const etcd = startProcess('etcd', binaries.etcd, [
      `--data-dir=${etcdDir}`,
      `--listen-client-urls=http://127.0.0.1:${String(etcdPort)}`,
      `--advertise-client-urls=http://127.0.0.1:${String(etcdPort)}`,
      `--listen-peer-urls=http://127.0.0.1:${String(peerPort)}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${String(peerPort)}`,
      `--initial-cluster=default=http://127.0.0.1:${String(peerPort)}`,
      '--log-level=warn',
    ], join(logs, 'etcd.log'));
    procs.push(etcd);
    await waitFor('etcd health', () => httpOk(`http://127.0.0.1:${String(etcdPort)}/health`), { timeoutMs: 30_000, process: etcd });

    const audit = options.audit === true ? await writeAuditPolicy(workDir) : undefined;
    const apiserver = startProcess('kube-apiserver', binaries.kubeApiserver, [...apiserverArgs({ files, etcdPort, apiPort, workDir }), ...(audit ? auditArgs(audit) : []), ...(options.admissionPlugins?.length ? [`--enable-admission-plugins=${options.admissionPlugins.join(',')}`] : []), ...(webhookClient ? [`--admission-control-config-file=${webhookClient.admissionConfigFile}`] : [])], join(logs, 'kube-apiserver.log'));
    procs.push(apiserver);
    await waitFor('kube-apiserver /readyz', () => httpOk(`${server}/readyz`), { timeoutMs: 90_000, process: apiserver, intervalMs: 200 });

    const qps = options.controllersQps === undefined ? [] : [`--kube-api-qps=${String(options.controllersQps)}`, `--kube-api-burst=${String(options.controllersQps * 2)}`];
    const common = [`--kubeconfig=${files.adminKubeconfig}`, `--authentication-kubeconfig=${files.adminKubeconfig}`, `--authorization-kubeconfig=${files.adminKubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1', ...qps];
    const kcm = startProcess('kube-controller-manager', binaries.kubeControllerManager, [
      ...common,
      `--secure-port=${String(kcmPort)}`,
      `--service-account-private-key-file=${files.saPrivate}`,
      `--root-ca-file=${files.caCert}`,
      '--use-service-account-credentials=true',
      '--controllers=*',
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      '--concurrent-gc-syncs=10',
    ], join(logs, 'kube-controller-manager.log'));
    const scheduler = startProcess('kube-scheduler', binaries.kubeScheduler, [...common, `--secure-port=${String(schedPort)}`], join(logs, 'kube-scheduler.log'));
    const kwokConfig = fileURLToPath(new URL('kwok-stages.yaml', import.meta.url));
    const kwok = startProcess('kwok', binaries.kwok, [
      `--kubeconfig=${files.adminKubeconfig}`,
      `--config=${kwokConfig}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--cidr=10.0.0.1/24',
      '--node-ip=10.0.0.1',
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${String(kwokPort)}`,
    ], join(logs, 'kwok.log'));
    procs.push(kcm, scheduler, kwok);
    await Promise.all([
      waitFor('kube-controller-manager /healthz', () => httpOk(`https://127.0.0.1:${String(kcmPort)}/healthz`), { timeoutMs: 60_000, process: kcm }),
      waitFor('kube-scheduler /healthz', () => httpOk(`https://127.0.0.1:${String(schedPort)}/healthz`), { timeoutMs: 60_000, process: scheduler }),
      waitFor('kwok /healthz', () => httpOk(`http://127.0.0.1:${String(kwokPort)}/healthz`), { timeoutMs: 60_000, process: kwok }),
    ]);

    const kc = new KubeConfig();
    kc.loadFromFile(files.adminKubeconfig);
    const nodeNames = await createFakeNodes(kc, options.nodes ?? 1);
    await waitForDefaultServiceAccount(kc, kcm);
    const startupMs = Date.now() - started;
    log(`ready in ${(startupMs / 1000).toFixed(1)} s at ${server} (kubeconfig ${files.adminKubeconfig})`);
    const handle = controlPlaneHandle({ server, files, workDir, binaries, startupMs, nodeNames, stopAll, log, ...(audit ? { auditLog: audit.logFile } : {}) });
    return webhookClient ? { ...handle, webhookClient } : handle;
  } catch (error) {
    await stopAll();
    log(`failed to start; logs kept in ${logs}`);
    throw error;
  }
}

function apiserverArgs(p: { files: Files; etcdPort: number; apiPort: number; workDir: string }): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${String(p.etcdPort)}`,
    `--secure-port=${String(p.apiPort)}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--cert-dir=${p.workDir}`,
    `--tls-cert-file=${p.files.servingCert}`,
    `--tls-private-key-file=${p.files.servingKey}`,
    `--client-ca-file=${p.files.caCert}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${p.files.saPublic}`,
    `--service-account-signing-key-file=${p.files.saPrivate}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--allow-privileged=true',
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
  ];
}

async function waitForDefaultServiceAccount(kc: KubeConfig, kcm: ManagedProcess): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor('the default ServiceAccount', async () => {
    await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
    return true;
  }, { timeoutMs: 60_000, process: kcm, intervalMs: 200 });
}

function controlPlaneHandle(p: {
  server: string;
  files: Files;
  workDir: string;
  binaries: KubernetesBinaries;
  startupMs: number;
  nodeNames: readonly string[];
  stopAll: () => Promise<void>;
  log: (line: string) => void;
  auditLog?: string;
}): ControlPlane {
  let stopped = false;
  return {
    ...kubeTools(p.binaries.dir, p.files.adminKubeconfig, p.workDir),
    caPem: p.files.caPem,
    server: p.server,
    kubeconfigPath: p.files.adminKubeconfig,
    workDir: p.workDir,
    binaries: p.binaries,
    startupMs: p.startupMs,
    nodeNames: p.nodeNames,
    ...(p.auditLog === undefined ? {} : { auditLog: p.auditLog }),
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromFile(p.files.adminKubeconfig);
      return kc;
    },
    async stop(options = {}): Promise<void> {
      if (stopped) return;
      stopped = true;
      await p.stopAll();
      if (options.keepLogs === true) p.log(`stopped; logs kept in ${join(p.workDir, 'logs')}`);
      else await rm(p.workDir, { recursive: true, force: true });
    },
  };
}
