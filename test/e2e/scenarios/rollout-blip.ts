import { describe, expect, it } from 'vitest';
import { endpointManifest, getEndpoint, namespaceWithKey, podAttestation, proxySelector, waitReady } from '../harness/endpoints.ts';
import { eventually, podReady, podsOf, type E2e, type KubeObject, type PodObject } from '../harness/kube.ts';
import { clientChat, deployClient, deployment, helperContainer, HELPER_CLIENT, simulator, startLoop, TMP_VOLUME } from '../harness/world.ts';
import { APP_NS, CHAT_URL, proxyDeployment, type World } from '../harness/world-state.ts';

// docs/adr/0013: a proxy is not Ready until it verified its upstream once (bounded by
// spec.attestation.firstVerificationWindow), and an injected sidecar's startup probe waits the
// same way. Attack: a blip of the attestation service during a rollout used to let the new pods
// turn Ready unverified, so the Deployment replaced verified pods with pods answering 503, and an
// injected app started before its sidecar could serve.

const NS = 'aio-e2e-blip';
const STEADY = 'steady';
const STEADY_URL = `http://${STEADY}.${NS}.svc/v1`;
const SELECTOR = proxySelector(STEADY);
const SIDECAR = 'attested-inference-proxy';
/** HOLD_MS is how long the blip is held once the rollout's first new pod runs: long enough for several readiness probes and verification retries. */
const HOLD_MS = 30_000;

interface DeploymentObject extends KubeObject {
  readonly spec: { replicas: number };
  readonly status: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

/** rolledOut tells whether a Deployment finished rolling out its current template. */
function rolledOut(d: DeploymentObject): boolean {
  const s = d.status;
  return s.observedGeneration === d.metadata.generation && s.updatedReplicas === d.spec.replicas && s.replicas === d.spec.replicas && s.availableReplicas === d.spec.replicas;
}

/** readySince is when a pod last turned Ready, if it is. */
function readySince(pod: PodObject): number | undefined {
  const ready = (pod.status.conditions ?? []).find((c) => c.type === 'Ready' && c.status === 'True') as { lastTransitionTime?: string } | undefined;
  return ready?.lastTransitionTime === undefined ? undefined : Date.parse(ready.lastTransitionTime);
}

/** blipApp is an injected app whose one container exits 1 when its first call, made as soon as it starts, fails. */
function blipApp(k: E2e): Record<string, unknown> {
  return deployment('blip-app', NS, {
    labels: { app: 'blip-app' },
    spec: { terminationGracePeriodSeconds: 1, containers: [helperContainer(k, 'app', [HELPER_CLIENT, 'app', '--base-url', 'http://127.0.0.1:15080/v1'])], volumes: [TMP_VOLUME] },
  });
}

/** startRollout changes the endpoint's proxy configuration (its log level), which rolls the proxy pods, and waits until the operator wrote it. */
async function startRollout(k: E2e): Promise<void> {
  await k.run(['-n', NS, 'patch', 'inferenceendpoint', STEADY, '--type=merge', '-p', JSON.stringify({ spec: { proxy: { logLevel: 'debug' } } })]);
  await eventually('the operator to write the new configuration', async () => {
    const e = await getEndpoint(k, NS, STEADY);
    const observed = (e.status as { observedGeneration?: number } | undefined)?.observedGeneration;
    return observed === e.metadata.generation ? e : undefined;
  }, { timeoutMs: 60_000 });
}

/** holdsDuringBlip checks, for HOLD_MS, that the new proxy pods stay unready waiting to verify, the verified ones keep serving, and the injected app has not started. */
async function holdsDuringBlip(k: E2e, oldPods: readonly string[]): Promise<void> {
  const fresh = await eventually('a new proxy pod to run', async () => {
    const pods = (await podsOf(k, NS, SELECTOR)).filter((p) => !oldPods.includes(p.metadata.uid) && p.status.phase === 'Running');
    return pods.length > 0 ? pods : undefined;
  }, { timeoutMs: 120_000 });
  const until = Date.now() + HOLD_MS;
  while (Date.now() < until) {
    const pods = await podsOf(k, NS, SELECTOR);
    const news = pods.filter((p) => !oldPods.includes(p.metadata.uid));
    expect(news.filter(podReady).map((p) => p.metadata.name), 'new proxy pods Ready during the blip').toEqual([]);
    expect(pods.filter((p) => oldPods.includes(p.metadata.uid) && podReady(p))).toHaveLength(oldPods.length);
    const app = (await podsOf(k, NS, 'app=blip-app'))[0];
    if (app !== undefined) {
      expect(app.status.initContainerStatuses?.find((s) => s.name === SIDECAR)?.started ?? false, 'sidecar startup probe passed during the blip').toBe(false);
      expect(app.status.containerStatuses?.find((s) => s.name === 'app')?.state.running, 'app started during the blip').toBeUndefined();
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
  // Waiting because of the blip: the new pod's own verification failed at fetching the attestation.
  for (const pod of fresh) {
    const report = await podAttestation(k, NS, pod.metadata.name) as { status: string; failure?: { step: string } };
    expect(['pending', 'failed']).toContain(report.status);
    if (report.status === 'failed') expect(report.failure?.step).toBe('fetch');
  }
  const d = await k.json<DeploymentObject>(['-n', NS, 'get', 'deployment', proxyDeployment(STEADY)]);
  expect(rolledOut(d)).toBe(false);
}

/** finishesAfterBlip waits for the rollout to complete and checks the new pods turned Ready only after the blip ended. */
async function finishesAfterBlip(k: E2e, oldPods: readonly string[], endedAt: number): Promise<void> {
  const pods = await eventually('the proxy Deployment to roll out', async () => {
    const d = await k.json<DeploymentObject>(['-n', NS, 'get', 'deployment', proxyDeployment(STEADY)]);
    const current = await podsOf(k, NS, SELECTOR);
    const replaced = current.length === 2 && current.every((p) => !oldPods.includes(p.metadata.uid) && podReady(p));
    return rolledOut(d) && replaced ? current : undefined;
  }, { timeoutMs: 240_000, intervalMs: 2_000 });
  // Condition times have one-second resolution.
  for (const pod of pods) expect(readySince(pod) ?? 0).toBeGreaterThanOrEqual(endedAt - 1_000);
}

/** appStartedAfterBlip checks the injected app started once its sidecar verified, and its first call succeeded. */
async function appStartedAfterBlip(k: E2e, endedAt: number): Promise<void> {
  await k.run(['-n', NS, 'rollout', 'status', 'deployment/blip-app', '--timeout=240s']);
  const [pod] = await podsOf(k, NS, 'app=blip-app');
  if (pod === undefined) throw new Error('no blip-app pod');
  const app = pod.status.containerStatuses?.find((s) => s.name === 'app');
  expect(app?.restartCount).toBe(0);
  expect(Date.parse(app?.state.running?.startedAt ?? '')).toBeGreaterThanOrEqual(endedAt - 1_000);
  const logs = await eventually('the app to log its first completion', async () => {
    const out = await k.run(['-n', NS, 'logs', pod.metadata.name, '-c', 'app']);
    return out.includes('"msg":"completion"') ? out : undefined;
  });
  expect(logs.split('\n')[0]).toContain('"msg":"completion"');
}

/** The scenario: an attestation-service blip during a rollout under steady traffic, and an injected app created during it. */
export function rolloutBlipScenario(world: World): void {
  describe('an attestation-service blip during a rollout', () => {
    it('keeps the verified pods serving until the new ones verified: no failed request, the rollout and the injected app wait for the blip to end', async () => {
      const { k } = world;
      await namespaceWithKey(k, NS, 'sk-e2e-blip-key', { 'inference.attested.dev/injection': 'enabled' });
      await deployClient(k, NS);
      // recheckInterval 5m: the verified pods ride out a failure to fetch for two intervals (ADR 0001);
      // firstVerificationWindow 5m: the new pods wait out the whole blip.
      await k.apply([endpointManifest(STEADY, NS, world.publicKeyPem, { recheckInterval: '5m', firstVerificationWindow: '5m' })]);
      await waitReady(k, NS, STEADY);
      await eventually('the endpoint to answer', async () => ((await clientChat(k, NS, STEADY_URL)).error === undefined ? true : undefined), { timeoutMs: 30_000 });
      const oldPods = (await podsOf(k, NS, SELECTOR)).map((p) => p.metadata.uid);
      expect(oldPods).toHaveLength(2);
      const loop = startLoop(k, NS, STEADY_URL, 'blip');
      await new Promise((r) => setTimeout(r, 3_000));
      await simulator(k, 'POST', 'attestation', { fault: 'unavailable' });
      let endedAt: number;
      try {
        // The app first, injected from the endpoint's current generation; then the rollout.
        await k.apply([blipApp(k)]);
        await startRollout(k);
        await holdsDuringBlip(k, oldPods);
      } finally {
        // Lifted even when a check failed, so later scenarios do not inherit a broken attestation service.
        // Taken before the call: nothing can verify before the fault is lifted.
        endedAt = Date.now();
        await simulator(k, 'POST', 'attestation', { fault: null });
      }
      await finishesAfterBlip(k, oldPods, endedAt);
      await appStartedAfterBlip(k, endedAt);
      await new Promise((r) => setTimeout(r, 3_000));
      const result = await loop.stop();
      expect(result.failed, JSON.stringify(result.errors)).toBe(0);
      expect(result.ok).toBeGreaterThan(10);
      // The shared endpoint of the other scenarios (recheck 10 s) failed closed during the blip; it recovers.
      await eventually('the shared endpoint to answer again', async () => ((await clientChat(k, APP_NS, CHAT_URL)).error === undefined ? true : undefined), { timeoutMs: 90_000 });
      await k.run(['-n', NS, 'delete', 'deployment', 'blip-app', '--wait=true']);
      await k.run(['-n', NS, 'delete', 'inferenceendpoint', STEADY, '--wait=true']);
    });
  });
}
