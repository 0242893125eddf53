import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_RELEASE_DIGEST } from '../../../operator/resources/names.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startOperatorProcess, type OperatorProcess } from '../../harness/operator-process.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, simulatorEndpointSpec } from './support.ts';

const SAMPLES = join(import.meta.dirname, '..', '..', '..', 'config', 'samples');

describe('the operator as a process, on the local control plane', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let system: Awaited<ReturnType<typeof createNamespace>>;
  let logDir: string;
  const operators: OperatorProcess[] = [];
  // The openai-compatible sample's upstream is unattested: only a host the admin policy lists is served.
  const policy = { name: 'attested-inference-policy', default: { unattestedUpstreamHosts: ['vllm.models.svc.cluster.local:8443'] } };
  const start = async (name: string): Promise<OperatorProcess> => {
    const policyFile = join(logDir, 'policy.json');
    await writeFile(policyFile, JSON.stringify(policy));
    const op = await startOperatorProcess({ kubeconfig: cluster.kubeconfigPath, logDir, leaseNamespace: system.name, name, extraArgs: [`--policy-file=${policyFile}`] });
    operators.push(op);
    return op;
  };
  const leader = async (): Promise<string | undefined> =>
    (await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: system.name, name: 'attested-inference-operator' })).spec?.holderIdentity;

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await createNamespace(cluster.core, 'op');
    system = await createNamespace(cluster.core, 'op-system');
    logDir = await mkdtemp(join(tmpdir(), 'aio-operator-'));
  });
  afterAll(async () => {
    for (const op of operators) await op.stop();
    await ns.remove();
    await system.remove();
    await cluster.kubectl(['delete', 'namespace', 'inference-demo', '--ignore-not-found', '--wait=false']);
    await simulator.close();
    await rm(logDir, { recursive: true, force: true });
  });

  it('turns kubectl apply -f config/samples/ into Ready endpoints with their Deployments and Services', async () => {
    await start('operator-a');
    await cluster.kubectl(['create', 'namespace', 'inference-demo']);
    for (const endpoint of ['tinfoil', 'vllm']) {
      const applied = await cluster.kubectl(['apply', '-n', ns.name, '-f', join(SAMPLES, `inference_v1alpha1_inferenceendpoint_${endpoint === 'vllm' ? 'openai_compatible' : 'tinfoil'}.yaml`)]);
      expect(applied.stderr).toBe('');
    }
    const waited = await cluster.kubectl(['wait', '--for=condition=Ready', 'inferenceendpoint', '--all', '-n', ns.name, '--timeout=60s']);
    expect(waited.stderr).toBe('');
    for (const name of ['tinfoil', 'vllm']) {
      const endpoint = await readEndpoint(cluster, ns.name, name);
      expect(endpoint.status?.url).toBe(`http://${name}.${ns.name}.svc/v1`);
      const deployment = await apps.readNamespacedDeployment({ namespace: ns.name, name: `${name}-proxy` });
      expect(deployment.status?.readyReplicas).toBe(endpoint.spec.replicas);
      expect(deployment.spec?.template.spec?.containers[0]?.image).toBe('registry.local/attested-inference-proxy:dev');
      await cluster.kc.makeApiClient(CoreV1Api).readNamespacedService({ namespace: ns.name, name });
    }
    // Nothing may leave this machine: the Tinfoil sample's public attestation service is unreachable here.
    expect(condition(await readEndpoint(cluster, ns.name, 'tinfoil'), 'Attested')).toMatchObject({ status: 'False', reason: 'AttestationFailed' });
    expect(condition(await readEndpoint(cluster, ns.name, 'vllm'), 'Attested')).toMatchObject({ status: 'False', reason: 'Unattested' });
    const printed = await cluster.kubectl(['get', 'ie', '-n', ns.name]);
    // Available False (not attested), Ready True, Attested False.
    expect(printed.stdout).toMatch(/tinfoil\s+tinfoil\s+False\s+True\s+False/);
  });

  it('completes a rollout when the simulator switches release, and records it', async () => {
    await createEndpoint(cluster, ns.name, 'chat', simulatorEndpointSpec(simulator));
    await waitFor('chat to be Ready and Attested', async () => {
      const e = await readEndpoint(cluster, ns.name, 'chat');
      return condition(e, 'Ready')?.status === 'True' && condition(e, 'Attested')?.reason === 'DevelopmentTrust';
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const before = simulator.release.releaseDigest;
    const after = simulator.switchRelease().releaseDigest;
    await waitFor('the rollout to complete', async () => {
      const e = await readEndpoint(cluster, ns.name, 'chat');
      const d = await apps.readNamespacedDeployment({ namespace: ns.name, name: 'chat-proxy' });
      return e.status?.attestation?.lastRollout?.toDigest === after && condition(e, 'Progressing')?.reason === 'RolloutComplete' && d.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST] === after && d.status?.updatedReplicas === 2 && d.status.readyReplicas === 2;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect((await readEndpoint(cluster, ns.name, 'chat')).status?.attestation?.lastRollout).toMatchObject({ fromDigest: before, toDigest: after, reason: 'ReleaseChanged' });
    const events = await cluster.kubectl(['get', 'events', '-n', ns.name, '--field-selector', 'reason=ReleaseChanged', '-o', 'json']);
    expect(events.stdout).toContain(after);
    const metrics = await (await fetch(`${operators[0]!.probeUrl}/metrics`)).text();
    expect(metrics).toMatch(/attested_inference_operator_rollouts_total\{reason="ReleaseChanged"\} 1/);
  });

  it('keeps one leader among two replicas, and the other takes over and converges after the leader stops', async () => {
    const b = await start('operator-b');
    expect(await leader()).toBe('operator-a');
    await operators[0]!.stop();
    await waitFor('operator-b to lead', async () => (await leader()) === 'operator-b', { timeoutMs: 20_000, intervalMs: 200 });
    await createEndpoint(cluster, ns.name, 'after-failover', simulatorEndpointSpec(simulator, { replicas: 1 }));
    await waitFor('the new leader to reconcile', async () => condition(await readEndpoint(cluster, ns.name, 'after-failover'), 'Ready')?.status === 'True', { timeoutMs: 60_000, intervalMs: 250 });
    const log = await readFile(b.logFile, 'utf8');
    expect(log).not.toContain('"level":"error"');
  });
});
