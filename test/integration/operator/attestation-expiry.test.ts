import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { condition, createEndpoint, installCrd, readEndpoint, reconcileUntilDeployed, recordingPort, simulatorEndpointSpec, RECONCILER_OPTIONS } from './support.ts';

// docs/adr/0018: a verified document that says it expires stops vouching at that time. The proxies
// refuse new requests then (test/integration/proxy/attestation-expiry.test.ts); the endpoint's
// status must say so too, on time, instead of reporting the last verification as if it still held.
const VALIDITY_MS = 8000;

describe('an attestation that expires, in the endpoint status on the real API server', () => {
  const cluster = testCluster();
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  const watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: () => undefined });
  const reconciler = new EndpointReconciler({ port: recordingPort(cluster), watcher, now: () => new Date(), options: RECONCILER_OPTIONS });
  const attested = async (): Promise<{ reason: string; message: string } | undefined> => {
    await reconciler.reconcile(`${ns.name}/chat`);
    return condition(await readEndpoint(cluster, ns.name, 'chat'), 'Attested');
  };

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    simulator.expireAttestations(VALIDITY_MS);
    ns = await createNamespace(cluster.core, 'expiry');
  });
  afterAll(async () => {
    watcher.stop();
    await ns.remove();
    await simulator.close();
  });

  it('turns Attested False with AttestationExpired when the attestation service stays down past the deadline, and back once it verifies', async () => {
    // A recheck interval far longer than the validity: only the expiry makes the operator look again.
    await createEndpoint(cluster, ns.name, 'chat', simulatorEndpointSpec(simulator, { replicas: 1, attestation: { recheckInterval: '1h' } }));
    await reconcileUntilDeployed(cluster, reconciler, ns.name, 'chat');
    const outcome = await reconciler.reconcile(`${ns.name}/chat`);
    // The reconciler looks again no later than the deadline, so the condition turns on time.
    expect(outcome.requeueAfterMs).toBeLessThanOrEqual(VALIDITY_MS + 1);
    expect(await attested()).toMatchObject({ status: 'True', reason: 'DevelopmentTrust' });

    simulator.breakAttestation('unavailable');
    let expired: { reason: string; message: string } | undefined;
    await waitFor('Attested to say AttestationExpired', async () => {
      expired = await attested();
      return expired?.reason === 'AttestationExpired';
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(expired).toMatchObject({ status: 'False' });
    expect(expired?.message).toContain(simulator.release.releaseDigest);
    expect(condition(await readEndpoint(cluster, ns.name, 'chat'), 'Available')).toMatchObject({ status: 'False', reason: 'NotAttested' });

    simulator.breakAttestation(null);
    await waitFor('Attested to recover once a verification succeeds', async () => (await attested())?.reason === 'DevelopmentTrust', { timeoutMs: 60_000, intervalMs: 500 });
  }, 120_000);
});
