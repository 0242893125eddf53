import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { CRD_FILE } from '../operator/api/v1alpha1/crd.ts';
import { CRD_NAME, GROUP, PLURAL, VERSION, type InferenceEndpoint } from '../operator/api/v1alpha1/types.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../operator/resources/names.ts';
import { startControlPlane, type ControlPlane } from '../test/harness/control-plane.ts';
import { startOperatorProcess, type OperatorProcess } from '../test/harness/operator-process.ts';
import { startApiCounter, type ApiCounter } from './api-counter.ts';
import { startUpstream, type Upstream } from './children.ts';
import { Cleanup } from './cleanup.ts';
import { childPid, commandLine } from './proc.ts';
import { Tracker } from './scale-watch.ts';

/**
 * The operator-at-scale environment: a local control plane with simulated (kwok) nodes, the CRD,
 * two enclave simulators (one keeps its release, the other switches it), the real operator as a
 * process behind the counting API pass-through, and watches on endpoints and proxy Deployments.
 */

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SYSTEM_NAMESPACE = 'attested-inference-system';
/** PODS_PER_NODE stays under the simulated nodes' 250-pod capacity. */
const PODS_PER_NODE = 200;
/**
 * CONTROLLERS_QPS lifts the controller-manager's and scheduler's client rate limits: at their
 * defaults (20 and 50 requests per second) the Deployment controller alone needs about 200 s to
 * create and report 1,000 Deployments' ReplicaSets, which would measure it rather than the operator.
 */
export const CONTROLLERS_QPS = 200;

/** ScaleEnv is everything the scale run talks to. */
export interface ScaleEnv {
  readonly controlPlane: ControlPlane;
  readonly kc: KubeConfig;
  readonly steady: Upstream;
  readonly switching: Upstream;
  readonly counter: ApiCounter;
  readonly operator: OperatorProcess;
  /** operatorPid is the operator's Node process (under the harness's shell tether). */
  readonly operatorPid: number;
  readonly endpoints: Tracker<InferenceEndpoint>;
  readonly deployments: Tracker<V1Deployment>;
}

async function installCrd(controlPlane: ControlPlane): Promise<void> {
  const applied = await controlPlane.kubectl(['apply', '--server-side', '-f', join(REPO, CRD_FILE)]);
  if (applied.code !== 0) throw new Error(`applying the CRD failed: ${applied.stderr}`);
  const established = await controlPlane.kubectl(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=60s']);
  if (established.code !== 0) throw new Error(`the CRD was not established: ${established.stderr}`);
}

/** namespaceNames are the benchmark's endpoint namespaces. */
export function namespaceNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `scale-${String(i).padStart(2, '0')}`);
}

async function createNamespaces(kc: KubeConfig, names: readonly string[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: SYSTEM_NAMESPACE } } });
  await Promise.all(names.map(async (namespace) => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'provider-key' }, stringData: { 'api-key': 'sk-bench-provider-key' } } });
  }));
}

/** startScaleEnv starts everything; what it started is stopped by `cleanup`. */
export async function startScaleEnv(p: { endpoints: number; namespaces: readonly string[]; dir: string; cleanup: Cleanup; log: (l: string) => void }): Promise<ScaleEnv> {
  const nodes = Math.max(1, Math.ceil(p.endpoints / PODS_PER_NODE));
  const controlPlane = await startControlPlane({ nodes, controllersQps: CONTROLLERS_QPS, log: (line) => p.log(`  control plane: ${line}`) });
  p.cleanup.add(() => controlPlane.stop());
  await installCrd(controlPlane);
  const kc = controlPlane.kubeConfig();
  const [steady, switching] = [await startUpstream(p.dir), await startUpstream(p.dir)];
  p.cleanup.add(() => steady.stop());
  p.cleanup.add(() => switching.stop());
  await createNamespaces(kc, p.namespaces);
  const counter = await startApiCounter(kc, join(p.dir, 'operator.kubeconfig'));
  p.cleanup.add(() => counter.stop());
  const operator = await startOperatorProcess({ kubeconfig: counter.kubeconfigPath, logDir: p.dir, leaseNamespace: SYSTEM_NAMESPACE });
  p.cleanup.add(() => operator.stop());
  const endpoints = new Tracker<InferenceEndpoint>(kc, `/apis/${GROUP}/${VERSION}/${PLURAL}`);
  const deployments = new Tracker<V1Deployment>(kc, '/apis/apps/v1/deployments', `${LABEL_MANAGED_BY}=${MANAGED_BY}`);
  await Promise.all([endpoints.start(), deployments.start()]);
  p.cleanup.add(() => {
    endpoints.stop();
    deployments.stop();
    return Promise.resolve();
  });
  const operatorPid = childPid(operator.process.child.pid!);
  if (!commandLine(operatorPid).includes('operator/main.ts')) throw new Error(`process ${operatorPid} is not the operator: ${commandLine(operatorPid)}`);
  return { controlPlane, kc, steady, switching, counter, operator, operatorPid, endpoints, deployments };
}

/** endpointBody is one InferenceEndpoint trusting `upstream` (Development trust, the simulator's key). */
export function endpointBody(name: string, upstream: Upstream): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`, kind: 'InferenceEndpoint', metadata: { name },
    spec: {
      provider: 'tinfoil', upstream: { url: upstream.url }, apiKeySecretRef: { name: 'provider-key' }, replicas: 1,
      // 10 s is the shortest recheck the CRD allows: the steady-state window sees every endpoint rechecked.
      attestation: { trust: 'Development', developmentPublicKey: upstream.publicKeyPem, bundleUrl: upstream.url, recheckInterval: '10s' },
    },
  };
}

/** createEndpoint creates one endpoint with the admin client. */
export async function createEndpoint(kc: KubeConfig, namespace: string, body: Record<string, unknown>): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, body });
}
