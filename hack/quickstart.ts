// The quickstart (npm start): a local control plane with simulated nodes, the operator, the enclave
// simulator and a sample InferenceEndpoint that trusts it, plus a local run of the proxy the
// operator rendered (simulated nodes run no containers). Prints a URL that answers curl and any
// OpenAI SDK. Ctrl-C stops and removes everything.
//   npm start                    run until Ctrl-C
//   npm start -- --exit-when-ready   stop once everything answers (used by the tests)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../operator/api/v1alpha1/types.ts';
import { startControlPlane } from '../test/harness/control-plane.ts';
import { startEnclaveSimulator } from '../test/harness/enclave-simulator/index.ts';
import { runEndpointLocally } from '../test/harness/local-runner.ts';
import { startOperatorProcess } from '../test/harness/operator-process.ts';
import { waitFor } from '../test/harness/processes.ts';

const NAMESPACE = 'demo';
const ENDPOINT = 'chat';
const say = (line: string): void => void process.stdout.write(`${line}\n`);

const { values } = parseArgs({ options: { 'exit-when-ready': { type: 'boolean' } } });
const started = Date.now();
say('▸ starting a local control plane (the first run builds Kubernetes from Go modules: ~15 min, progress below)');
const controlPlane = await startControlPlane({ nodes: 1 });
const stops: (() => Promise<void>)[] = [() => controlPlane.stop()];
const stopAll = async (): Promise<void> => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

try {
  const crd = await controlPlane.kubectl(['apply', '--server-side', '-f', join(import.meta.dirname, '..', 'crds', 'inference.attested.dev_inferenceendpoints.yaml')]);
  if (crd.code !== 0) throw new Error(crd.stderr);
  await controlPlane.kubectl(['wait', '--for=condition=Established', 'crd/inferenceendpoints.inference.attested.dev', '--timeout=60s']);
  say('▸ starting the enclave simulator (real EHBP and HPKE, development-signed attestation)');
  const simulator = await startEnclaveSimulator();
  stops.push(() => simulator.close());
  const logDir = await mkdtemp(join(tmpdir(), 'aio-quickstart-'));
  stops.push(() => rm(logDir, { recursive: true, force: true }));
  const kc = controlPlane.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'attested-inference-system' } } });
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  say('▸ starting the operator (development trust allowed for the simulator)');
  const operator = await startOperatorProcess({ kubeconfig: controlPlane.kubeconfigPath, logDir, leaseNamespace: 'attested-inference-system' });
  stops.push(() => operator.stop());
  await core.createNamespacedSecret({ namespace: NAMESPACE, body: { metadata: { name: 'provider-key' }, stringData: { 'api-key': 'sk-local-simulator' } } });
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP, version: VERSION, plural: PLURAL, namespace: NAMESPACE,
    body: {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'InferenceEndpoint', metadata: { name: ENDPOINT },
      spec: {
        provider: 'tinfoil', upstream: { url: simulator.url }, apiKeySecretRef: { name: 'provider-key' }, replicas: 2,
        attestation: { trust: 'Development', developmentPublicKey: simulator.developmentPublicKeyPem, bundleUrl: simulator.url, recheckInterval: '30s' },
        prices: { models: { 'llama3-3-70b': { input: '0.90', output: '1.20' } } },
      },
    },
  });
  say(`▸ applied InferenceEndpoint ${NAMESPACE}/${ENDPOINT}; waiting for the operator`);
  await waitFor('the endpoint to be Ready', async () => (await controlPlane.kubectl(['wait', '--for=condition=Ready', `inferenceendpoint/${ENDPOINT}`, '-n', NAMESPACE, '--timeout=2s'])).code === 0, { timeoutMs: 60_000, intervalMs: 500 });
  const proxy = await runEndpointLocally(kc, NAMESPACE, ENDPOINT, { secretName: 'provider-key', secretKey: 'api-key' });
  stops.push(() => proxy.stop());
  await waitFor('the proxy to attest the simulator', async () => ((await (await fetch(`${proxy.adminUrl}/admin/attestation`)).json()) as { status: string }).status === 'verified', { timeoutMs: 30_000, intervalMs: 200 });
  say(`
✔ ready in ${((Date.now() - started) / 1000).toFixed(1)} s

  OpenAI base URL   ${proxy.apiUrl}/v1
  metrics           ${proxy.adminUrl}/metrics
  attestation       ${proxy.adminUrl}/admin/attestation
  kubectl           export KUBECONFIG=${controlPlane.kubeconfigPath}; kubectl get ie -n ${NAMESPACE}

  curl ${proxy.apiUrl}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"llama3-3-70b","messages":[{"role":"user","content":"Hello from the quickstart"}]}'

  Pods run on simulated nodes (kwok): the proxy above is the operator's rendering of ${NAMESPACE}/${ENDPOINT}
  run as a local process. npm run test:e2e runs real pods on kind. Ctrl-C stops and removes everything.
`);
  if (values['exit-when-ready'] === true) {
    await stopAll();
    process.exit(0);
  }
} catch (error) {
  process.stderr.write(`quickstart failed: ${(error as Error).message}\n`);
  await stopAll();
  process.exit(1);
}
