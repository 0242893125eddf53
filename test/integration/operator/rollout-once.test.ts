import { AppsV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION, type RolloutRecord } from '../../../operator/api/v1alpha1/types.ts';
import { AttestationWatcher } from '../../../operator/attestation/watcher.ts';
import { EndpointReconciler } from '../../../operator/reconcile/endpoint.ts';
import { ANNOTATION_RELEASE_DIGEST } from '../../../operator/resources/names.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { createEndpoint, installCrd, readEndpoint, recordingPort, simulatorEndpointSpec, type RecordingPort, RECONCILER_OPTIONS } from './support.ts';

/**
 * A rollout is recorded exactly once per release transition (docs/adr/0015-leader-fencing-and-rollout-pacing.md):
 * a status write that conflicts, or a reconcile that stops between the status write and the
 * Deployment write (a leader killed there), neither loses status.attestation.lastRollout nor
 * repeats its Event, counter or sidecar roll.
 */
describe('lastRollout exactly once, on the real API server', () => {
  const cluster = testCluster();
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  let simulator: EnclaveSimulator;
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let watcher: AttestationWatcher;
  const rechecks: (() => void)[] = [];
  const updated = new Set<string>();

  /** reconcilerWith is a fresh reconciler (a new leader has no memory of the last one) on `port`, counting rollouts it announces. */
  const reconcilerWith = (port: RecordingPort): { reconciler: EndpointReconciler; rollouts: RolloutRecord[] } => {
    const rollouts: RolloutRecord[] = [];
    return { reconciler: new EndpointReconciler({ port, watcher, now: () => new Date(), options: RECONCILER_OPTIONS, onRollout: (_e, r) => rollouts.push(r) }), rollouts };
  };
  /** bump changes the endpoint's metadata, so a status write with the resourceVersion read before it conflicts (409). */
  const bump = async (name: string, value: string): Promise<void> => {
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.name, name, body: { metadata: { annotations: { 'test.attested.dev/bump': value } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  };
  const stamped = async (name: string): Promise<string | undefined> => (await apps.readNamespacedDeployment({ namespace: ns.name, name: `${name}-proxy` })).spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST];
  /** reconcileUntilQuiet reconciles until a pass asks for no quick look again (a conflict asks for one after 250 ms). */
  const reconcileUntilQuiet = async (reconciler: EndpointReconciler, key: string): Promise<void> => {
    for (let i = 0; i < 10; i += 1) {
      const outcome = await reconciler.reconcile(key).catch((error: unknown) => ({ requeueAfterMs: 1, error }));
      if (outcome.requeueAfterMs !== 250 && outcome.requeueAfterMs !== 1) return;
    }
  };
  /** switchAndVerify switches the simulator's release and runs the watcher's recheck now, waiting for it to report. */
  const switchAndVerify = async (key: string): Promise<string> => {
    const digest = simulator.switchRelease().releaseDigest;
    updated.delete(key);
    rechecks.splice(0).forEach((fn) => fn());
    await waitFor('the watcher to see the new release', () => Promise.resolve(updated.has(key)), { timeoutMs: 30_000, intervalMs: 20 });
    return digest;
  };
  const setUp = async (name: string, port: RecordingPort): Promise<{ key: string; before: string }> => {
    await createEndpoint(cluster, ns.name, name, simulatorEndpointSpec(simulator, { replicas: 1 }));
    const key = `${ns.name}/${name}`;
    const { reconciler } = reconcilerWith(port);
    // The first pass of a new upstream is Pending and writes no Deployment; a later pass, once verified, does.
    await waitFor(`${name}'s Deployment`, async () => {
      await reconcileUntilQuiet(reconciler, key);
      return (await stamped(name).catch(() => undefined)) !== undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    const before = await stamped(name);
    expect(before).toBe(simulator.release.releaseDigest);
    return { key, before: before ?? '' };
  };

  beforeAll(async () => {
    await installCrd(cluster);
    simulator = await startEnclaveSimulator();
    ns = await createNamespace(cluster.core, 'rollout-once');
    watcher = new AttestationWatcher({ allowDevelopmentTrust: true, onUpdate: (keys) => keys.forEach((k) => updated.add(k)), setTimer: (fn) => (rechecks.push(fn), { cancel: () => undefined }) });
  });
  afterAll(async () => {
    watcher.stop();
    await ns.remove();
    await simulator.close();
  });

  it('keeps the record and announces the rollout once when the status write conflicts', async () => {
    const port = recordingPort(cluster);
    const { key, before } = await setUp('conflicted', port);
    const after = await switchAndVerify(key);
    // Every status write of the next pass meets an endpoint changed since it was read: a real 409.
    let conflicts = 0;
    const conflicting: RecordingPort = { ...port, writeStatus: async (endpoint, status) => {
      if (conflicts < 2) {
        conflicts += 1;
        await bump('conflicted', String(conflicts));
      }
      return port.writeStatus(endpoint, status);
    } };
    const { reconciler, rollouts } = reconcilerWith(conflicting);
    await reconcileUntilQuiet(reconciler, key);
    expect(conflicts).toBe(2);
    expect(await stamped('conflicted')).toBe(after);
    expect((await readEndpoint(cluster, ns.name, 'conflicted')).status?.attestation?.lastRollout).toMatchObject({ reason: 'ReleaseChanged', fromDigest: before, toDigest: after });
    expect(rollouts.map((r) => r.toDigest)).toEqual([after]);
    expect(port.events.filter((e) => e.endpoint === 'conflicted' && e.reason === 'ReleaseChanged').map((e) => e.message)).toEqual([`Upstream release changed from ${before} to ${after}; rolling the proxy pods.`]);
  });

  it('lets a new leader finish a rollout the old one recorded but did not apply, without a second record or announcement', async () => {
    const port = recordingPort(cluster);
    const { key, before } = await setUp('handover', port);
    const after = await switchAndVerify(key);
    // The old leader dies after its status write: every later write of its fails.
    const dying: RecordingPort = { ...port, apply: () => Promise.reject(new Error('leader killed')), create: () => Promise.reject(new Error('leader killed')) };
    const old = reconcilerWith(dying);
    await old.reconciler.reconcile(key).catch(() => undefined);
    const recorded = (await readEndpoint(cluster, ns.name, 'handover')).status?.attestation?.lastRollout;
    expect(recorded).toMatchObject({ fromDigest: before, toDigest: after });
    expect(await stamped('handover')).toBe(before);
    const next = reconcilerWith(port);
    await reconcileUntilQuiet(next.reconciler, key);
    expect(await stamped('handover')).toBe(after);
    expect((await readEndpoint(cluster, ns.name, 'handover')).status?.attestation?.lastRollout).toEqual(recorded);
    expect(next.rollouts).toEqual([]);
    expect([...old.rollouts, ...next.rollouts].map((r) => r.toDigest)).toEqual([after]);
    expect(port.events.filter((e) => e.endpoint === 'handover' && e.reason === 'ReleaseChanged')).toHaveLength(1);
  });
});
