import type { V1Container, V1Deployment, V1Pod, V1Probe } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../proxy/config/load.ts';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { durationSeconds } from '../api/v1alpha1/values.ts';
import { desiredChildren, sidecarConfigYaml } from '../resources/desired.ts';
import { proxyConfigYaml } from '../resources/proxy-config.ts';
import { injectSidecar, SIDECAR_CONTAINER_NAME } from './sidecar.ts';

// docs/adr/0013: a proxy is unready until it verified its upstream once, within the endpoint's
// firstVerificationWindow. The rendered configurations carry the window, the injected sidecar's
// startup probe waits on that readiness for at least the whole window, and no probe restarts a
// proxy that is still waiting.

const image = { image: 'registry.local/attested-inference-proxy:dev', pullPolicy: 'Never' as const };
const pod: V1Pod = { metadata: { name: 'app' }, spec: { containers: [{ name: 'app' }] } };
const withWindow = (window?: string): ReturnType<typeof endpoint> =>
  endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, ...(window === undefined ? {} : { attestation: { firstVerificationWindow: window } }) });

function sidecarOf(window?: string): V1Container {
  const injected = injectSidecar(pod, withWindow(window), { image });
  const sidecar = injected.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);
  if (!sidecar) throw new Error('no sidecar injected');
  return sidecar;
}

function deploymentProxy(window?: string): V1Container {
  const children = desiredChildren(withWindow(window), { image, tokenReviewClusterRole: 'tr', apiServerPorts: [443] });
  const deployment = children.objects.find((o) => o.kind === 'Deployment') as V1Deployment;
  const proxy = deployment.spec?.template.spec?.containers.find((c) => c.name === 'proxy');
  if (!proxy) throw new Error('no proxy container');
  return proxy;
}

/** budgetSeconds is how long kubelet lets a probe fail before it acts on it. */
const budgetSeconds = (p: V1Probe | undefined): number => (p?.failureThreshold ?? 3) * (p?.periodSeconds ?? 10);
const pathOf = (p: V1Probe | undefined): string | undefined => p?.httpGet?.path;

describe('the first-verification window in the rendered configuration', () => {
  it('reaches the Deployment proxy and the sidecar alike, in seconds, and the proxy loads it', () => {
    for (const [window, seconds] of [[undefined, 60], ['0s', 0], ['2m30s', 150], ['5m', 300]] as const) {
      const e = withWindow(window);
      for (const yaml of [proxyConfigYaml(e, { listenHost: '0.0.0.0' }), sidecarConfigYaml(e)]) {
        expect(parseConfig(parse(yaml)).attestation.firstVerificationWindowSeconds).toBe(seconds);
      }
    }
  });
});

describe("the injected sidecar's startup probe", () => {
  it('waits on the readiness condition, so the app starts only after the sidecar verified', () => {
    const sidecar = sidecarOf();
    expect(pathOf(sidecar.startupProbe)).toBe('/readyz');
    expect(sidecar.startupProbe?.httpGet?.port).toBe(15090);
    // Probed every second: the app starts within a second of the verification.
    expect(sidecar.startupProbe?.periodSeconds).toBe(1);
    expect(pathOf(sidecar.readinessProbe)).toBe('/readyz');
  });

  it('has a budget that covers the process start, the whole window and a margin, for every window', () => {
    for (const window of [undefined, '0s', '60s', '90s', '5m']) {
      const windowSeconds = durationSeconds(window ?? '60s');
      const budget = budgetSeconds(sidecarOf(window).startupProbe);
      // 30 s to start listening (the gateway's startup budget), then the window, then room for a probe or two.
      expect(budget, `window ${String(window)}`).toBeGreaterThanOrEqual(30 + windowSeconds + 5);
      expect(budget, `window ${String(window)}`).toBeLessThanOrEqual(30 + windowSeconds + 60);
    }
  });

  it('leaves liveness on /healthz, which stays true while the sidecar waits', () => {
    expect(pathOf(sidecarOf().livenessProbe)).toBe('/healthz');
  });
});

describe("the Deployment proxy's probes", () => {
  it('gate readiness on /readyz, and start and liveness on /healthz, so a waiting proxy is unready but never restarted', () => {
    const proxy = deploymentProxy('5m');
    expect(pathOf(proxy.readinessProbe)).toBe('/readyz');
    expect(pathOf(proxy.startupProbe)).toBe('/healthz');
    expect(pathOf(proxy.livenessProbe)).toBe('/healthz');
  });
});
