import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metafile } from '../../../hack/build/metafile.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { startProxyProcess, type ProxyProcess } from '../../harness/proxy-process.ts';
import { simulatorConfig } from '../../harness/test-proxy.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, simulatorEndpointSpec } from '../operator/support.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const ANSWER = 'This is the enclave simulator answering as llama3-3-70b.';

/**
 * bundles is where the built programs are: AIO_BUNDLE_DIR when the test command built them already
 * (hack/test.sh runs `npm run build` first), else a build of its own. Either way they are copied
 * into a folder with no node_modules above it, as in the image, so a package the bundle left out
 * and the build did not copy cannot be found in the repository's node_modules by accident.
 */
async function bundles(into: string): Promise<string> {
  const built = process.env.AIO_BUNDLE_DIR ?? join(into, 'build');
  if (process.env.AIO_BUNDLE_DIR === undefined) await run(process.execPath, [join(ROOT, 'hack/build.ts'), '--outdir', built], { cwd: ROOT, timeout: 170_000 });
  const dir = join(into, 'run');
  for (const program of ['proxy', 'operator']) await cp(join(built, program), join(dir, program), { recursive: true });
  for (const meta of ['proxy.meta.json', 'operator.meta.json']) await cp(join(built, meta), join(dir, meta));
  return dir;
}

/** chunkOf is the output file (relative to the program's folder) that holds `input`. */
async function chunkOf(dir: string, program: string, input: string): Promise<string> {
  const meta = JSON.parse(await readFile(join(dir, `${program}.meta.json`), 'utf8')) as Metafile;
  const found = Object.entries(meta.outputs).find(([file, o]) => file.endsWith('.js') && input in o.inputs);
  if (found === undefined) throw new Error(`no output of the ${program} bundle holds ${input}`);
  return found[0].slice(found[0].indexOf(`/${program}/`) + program.length + 2);
}

describe('the built programs (npm run build), as the images run them', () => {
  const cluster = testCluster();
  let work: string;
  let dir: string;
  let simulator: EnclaveSimulator;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'aio-bundle-'));
    [dir, simulator] = await Promise.all([bundles(work), startEnclaveSimulator()]);
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await simulator.close();
    await rm(work, { recursive: true, force: true });
  });

  it('the proxy bundle verifies the simulator and relays a chat completion, whole and streamed', async () => {
    const proxy: ProxyProcess = await startProxyProcess('bundled-proxy', simulatorConfig(simulator), work, { main: join(dir, 'proxy', 'main.js') });
    stops.push(() => proxy.stop());
    expect(((await proxy.status()).attestation as { status: string }).status).toBe('verified');
    const chat = (stream: boolean): Promise<Response> => fetch(`${proxy.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'Say hello.' }], stream }),
    });
    const whole = await chat(false);
    expect(whole.status).toBe(200);
    expect(((await whole.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe(ANSWER);
    const streamed = await chat(true);
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toMatch(/data: \[DONE\]/);
    expect(await proxy.metrics()).toMatch(/^attested_inference_requests_total\{.*\} [1-9]/m);
  });

  it('the proxy bundle loads its Kubernetes client on demand and checks callers with TokenReview', async () => {
    const ns = await createNamespace(cluster.core, 'bundle-sa');
    stops.push(() => ns.remove());
    await cluster.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'caller' } } });
    const auth = { mode: 'serviceaccount', audiences: ['inference.attested.dev/bundle'], allowedServiceAccounts: [`${ns.name}/caller`] };
    const proxy = await startProxyProcess('bundled-sa-proxy', simulatorConfig(simulator, { auth }), work, { main: join(dir, 'proxy', 'main.js'), env: { KUBECONFIG: cluster.kubeconfigPath } });
    stops.push(() => proxy.stop());
    const token = (await cluster.core.createNamespacedServiceAccountToken({ name: 'caller', namespace: ns.name, body: { spec: { audiences: auth.audiences, expirationSeconds: 600 } } })).status!.token!;
    const chat = (bearer: string): Promise<Response> => fetch(`${proxy.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'Say hello.' }] }),
    });
    expect((await chat(token)).status).toBe(200);
    expect((await chat('not-a-token')).status).toBe(401);
  });

  it('each bundle loads the unbundled Tinfoil verifier from its own node_modules', async () => {
    for (const program of ['proxy', 'operator']) {
      const chunk = join(dir, program, await chunkOf(dir, program, 'proxy/attestation/tinfoil.ts'));
      const probe = 'const m = await import(process.argv[1]); console.log(Object.values(m).filter((v) => typeof v === "function").length > 0)';
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe, pathToFileURL(chunk).href], { cwd: work, timeout: 60_000 });
      expect(stdout.trim(), program).toBe('true');
    }
  });

  it('the operator bundle reconciles an endpoint into its proxy Deployment', async () => {
    await installCrd(cluster);
    const ns = await createNamespace(cluster.core, 'bundle');
    const system = await createNamespace(cluster.core, 'bundle-system');
    stops.push(() => ns.remove(), () => system.remove());
    const operator: OperatorProcess = await startOperatorProcess({ kubeconfig: cluster.kubeconfigPath, logDir: work, leaseNamespace: system.name, name: 'bundled-operator', main: join(dir, 'operator', 'main.js') });
    stops.push(() => operator.stop());
    await createEndpoint(cluster, ns.name, 'chat', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await waitFor('the endpoint to be Ready and Attested', async () => {
      const e = await readEndpoint(cluster, ns.name, 'chat');
      return condition(e, 'Ready')?.status === 'True' && condition(e, 'Attested')?.reason === 'DevelopmentTrust';
    }, { timeoutMs: 90_000, intervalMs: 250 });
    const deployment = await cluster.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' });
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('registry.local/attested-inference-proxy:dev');
    expect(await readFile(operator.logFile, 'utf8')).not.toContain('"level":"error"');
  });
});
