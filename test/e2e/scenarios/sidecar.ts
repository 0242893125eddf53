import { describe, expect, it } from 'vitest';
import { endpointManifest, namespaceWithKey, waitReady } from '../harness/endpoints.ts';
import { eventually, podReady, podsOf, type PodObject } from '../harness/kube.ts';
import { deployment, helperContainer, HELPER_CLIENT, idlePod, TMP_VOLUME } from '../harness/world.ts';
import type { World } from '../harness/world-state.ts';

const NS = 'aio-e2e-sidecar';
const SIDECAR = 'attested-inference-proxy';

function startedAt(pod: PodObject, name: string, init: boolean): number {
  const statuses = (init ? pod.status.initContainerStatuses : pod.status.containerStatuses) ?? [];
  const at = statuses.find((s) => s.name === name)?.state.running?.startedAt;
  if (at === undefined) throw new Error(`${name} of ${pod.metadata.name} is not running`);
  return Date.parse(at);
}

/** Scenario 3: the webhook injects the proxy as a native sidecar into pods that opt in, only those. */
export function sidecarScenario(world: World): void {
  describe('3. sidecar injection', () => {
    it('runs the proxy as a native sidecar, Ready before the app starts, reached on localhost; the key stays in the sidecar', async () => {
      const { k } = world;
      await namespaceWithKey(k, NS, 'sk-e2e-sidecar-key', { 'inference.attested.dev/injection': 'enabled' });
      await k.apply([endpointManifest('side', NS, world.publicKeyPem)]);
      await waitReady(k, NS, 'side');
      await k.apply([
        deployment('sidecar-app', NS, {
          labels: { app: 'sidecar-app' },
          spec: {
            terminationGracePeriodSeconds: 1,
            // The app exits 1 when its first call, made as soon as it starts, fails.
            containers: [helperContainer(k, 'app', [HELPER_CLIENT, 'app', '--base-url', 'http://127.0.0.1:15080/v1'])],
            volumes: [TMP_VOLUME],
          },
        }),
      ]);
      await k.run(['-n', NS, 'rollout', 'status', 'deployment/sidecar-app', '--timeout=180s']);
      const [pod] = await podsOf(k, NS, 'app=sidecar-app');
      if (pod === undefined) throw new Error('no sidecar-app pod');
      const sidecar = pod.spec.initContainers?.find((c) => c.name === SIDECAR);
      expect(sidecar?.restartPolicy).toBe('Always');
      expect(sidecar?.image).toBe(k.images.proxy);
      expect(pod.spec.containers.map((c) => c.name)).toEqual(['app']);
      expect(podReady(pod)).toBe(true);
      expect(pod.status.initContainerStatuses?.find((s) => s.name === SIDECAR)).toMatchObject({ ready: true, started: true, restartCount: 0 });
      // Native sidecar ordering: the sidecar was started (and its startup probe passed) before the app.
      expect(startedAt(pod, SIDECAR, true)).toBeLessThanOrEqual(startedAt(pod, 'app', false));
      expect(pod.status.containerStatuses?.find((s) => s.name === 'app')?.restartCount).toBe(0);
      const logs = await eventually('the app to log a completion', async () => {
        const out = await k.run(['-n', NS, 'logs', pod.metadata.name, '-c', 'app']);
        return out.includes('"msg":"completion"') ? out : undefined;
      });
      expect(logs.split('\n')[0]).toContain('This is the enclave simulator answering as llama3-3-70b.');
      // docs/architecture.md §5: the provider key is mounted into the sidecar only.
      const keyVolumes = (pod.spec.volumes ?? []).filter((v) => v.secret?.secretName === 'provider-key' || JSON.stringify(v.projected ?? {}).includes('provider-key')).map((v) => v.name);
      expect(keyVolumes.length).toBeGreaterThan(0);
      expect(sidecar?.volumeMounts?.some((m) => keyVolumes.includes(m.name))).toBe(true);
      const app = pod.spec.containers[0];
      expect(app?.volumeMounts?.some((m) => keyVolumes.includes(m.name)) ?? false).toBe(false);
      expect(JSON.stringify(app?.env ?? []) + JSON.stringify(app?.envFrom ?? [])).not.toContain('provider-key');
      expect(app?.env?.find((e) => e.name === 'OPENAI_BASE_URL')?.value).toBe('http://127.0.0.1:15080/v1');
      const env = await k.run(['-n', NS, 'exec', pod.metadata.name, '-c', 'app', '--', '/nodejs/bin/node', '-e', 'console.log(JSON.stringify(process.env))']);
      expect(env).not.toContain('sk-e2e-sidecar-key');
      const files = await k.kubectl(['-n', NS, 'exec', pod.metadata.name, '-c', 'app', '--', '/nodejs/bin/node', '-e', "console.log(require('node:fs').readdirSync('/etc').join(' '))"]);
      expect(files.stdout).not.toContain('attested-inference');
    });

    it('leaves a pod that opted out untouched', async () => {
      const { k } = world;
      await k.apply([idlePod(k, { name: 'opted-out', namespace: NS, container: 'app', annotations: { 'inference.attested.dev/inject': 'false' } })]);
      await k.run(['-n', NS, 'wait', '--for=condition=Ready', 'pod/opted-out', '--timeout=120s']);
      const pod = await k.json<PodObject>(['-n', NS, 'get', 'pod', 'opted-out']);
      expect(pod.spec.initContainers ?? []).toEqual([]);
      expect(pod.spec.containers.map((c) => c.name)).toEqual(['app']);
      expect(pod.spec.containers[0]?.env ?? []).toEqual([]);
    });
  });
}
