import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { parse } from 'yaml';
import { sidecarConfigYaml } from '../resources/desired.ts';
import { injectSidecar, SIDECAR_CONTAINER_NAME, SIDECAR_UID } from './sidecar.ts';

const chat = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' } });
const options = { image: { image: 'registry.local/attested-inference-proxy:dev', pullPolicy: 'Never' as const } };
const pod = (grace?: number): V1Pod => ({ metadata: { name: 'app' }, spec: { containers: [{ name: 'app' }], ...(grace === undefined ? {} : { terminationGracePeriodSeconds: grace }) } });
const preStopOf = (p: V1Pod): number | undefined => p.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME)?.lifecycle?.preStop?.sleep?.seconds;

describe('the injected sidecar and the pod grace period', () => {
  it('keeps the drain delay when the grace period has room for it (default 30 s)', () => {
    expect(preStopOf(injectSidecar(pod(), chat, options))).toBe(5);
    expect(preStopOf(injectSidecar(pod(60), chat, options))).toBe(5);
  });

  it('shortens it below a short grace period, which the API server requires', () => {
    expect(preStopOf(injectSidecar(pod(5), chat, options))).toBe(4);
    expect(preStopOf(injectSidecar(pod(3), chat, options))).toBe(2);
  });

  it('drops it when the pod allows a second or less', () => {
    for (const grace of [0, 1]) {
      const injected = injectSidecar(pod(grace), chat, options);
      expect(injected.spec?.initContainers?.[0]?.name).toBe(SIDECAR_CONTAINER_NAME);
      expect(injected.spec?.initContainers?.[0]?.lifecycle).toBeUndefined();
    }
  });
});

/** filesIn lists every string value of a rendered configuration that is a path under /var/run/secrets/. */
function secretFilesIn(value: unknown): string[] {
  if (typeof value === 'string') return value.startsWith('/var/run/secrets/') ? [value] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(secretFilesIn);
}

describe("the injected sidecar's mounts", () => {
  const staticKeys = endpoint('chat', {
    provider: 'tinfoil',
    apiKeySecretRef: { name: 'k' },
    callers: { auth: 'static-keys', staticKeysSecretRef: { name: 'caller-keys' } },
    promptCache: { secretRef: { name: 'cache' } },
    budgets: { namespace: { daily: '10' } },
    limitsStore: { redis: { url: 'redis://redis:6379', passwordSecretRef: { name: 'limits-redis' } } },
  });

  it("mounts no caller-keys Secret: the sidecar's loopback listener authenticates no callers", () => {
    const injected = injectSidecar(pod(), staticKeys, options);
    expect(JSON.stringify(injected.spec!.volumes)).not.toContain('caller-keys');
    expect(injected.spec!.initContainers![0]!.volumeMounts!.map((m) => m.name)).not.toContain('attested-inference-caller-keys');
  });

  it('mounts every Secret its configuration reads, and only those', () => {
    const injected = injectSidecar(pod(), staticKeys, options);
    const sidecar = injected.spec!.initContainers![0]!;
    const files = secretFilesIn(parse(sidecarConfigYaml(staticKeys)));
    const secretMounts = sidecar.volumeMounts!.filter((m) => m.mountPath.startsWith('/var/run/secrets/'));
    for (const file of files) expect(secretMounts.some((m) => file.startsWith(`${m.mountPath}/`)), file).toBe(true);
    for (const m of secretMounts) expect(files.some((file) => file.startsWith(`${m.mountPath}/`)), m.name).toBe(true);
    expect(secretMounts.map((m) => m.name).sort()).toEqual(['attested-inference-limits-store', 'attested-inference-prompt-cache', 'attested-inference-provider-key']);
  });

  it("runs as a UID of its own, not the image's default 65532 that distroless nonroot apps share", () => {
    const sidecar = injectSidecar(pod(), staticKeys, options).spec!.initContainers![0]!;
    expect(SIDECAR_UID).not.toBe(65532);
    expect(sidecar.securityContext).toMatchObject({ runAsUser: SIDECAR_UID, runAsGroup: SIDECAR_UID, runAsNonRoot: true });
  });
});
