import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { injectSidecar, SIDECAR_CONTAINER_NAME } from './sidecar.ts';

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
