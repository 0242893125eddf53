import type { KubeConfig } from '@kubernetes/client-node';
import { getJson } from '../controller/rest.ts';

const GROUP_VERSION = '/apis/monitoring.coreos.com/v1';

/**
 * watchServiceMonitorSupport tells whether the cluster serves the Prometheus operator's
 * ServiceMonitor CRD, re-checking on an interval so installing the Prometheus operator later
 * needs no operator restart.
 */
export function watchServiceMonitorSupport(kc: KubeConfig, intervalMs = 60_000): { supported(): boolean; refresh(): Promise<boolean>; stop(): void } {
  let supported = false;
  const refresh = async (): Promise<boolean> => {
    try {
      const list = await getJson<{ resources?: { name: string }[] }>(kc, GROUP_VERSION, {});
      supported = (list.resources ?? []).some((r) => r.name === 'servicemonitors');
    } catch {
      supported = false;
    }
    return supported;
  };
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref();
  return { supported: () => supported, refresh, stop: () => clearInterval(timer) };
}
