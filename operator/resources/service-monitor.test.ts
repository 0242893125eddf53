import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { parseOperatorOptions } from '../config.ts';
import { serviceMonitorFor } from './networking.ts';

const chat = endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' } });
const options = (...flags: string[]): ReturnType<typeof parseOperatorOptions> => parseOperatorOptions(['--proxy-image=registry.local/proxy:1', ...flags], {});

describe('endpoints\' ServiceMonitors', () => {
  it('scrape every 30s with the operator\'s labels only, by default', () => {
    const monitor = serviceMonitorFor(chat, options().serviceMonitor) as unknown as { metadata: { labels: Record<string, string> }; spec: { endpoints: { interval: string }[] } };
    expect(monitor.spec.endpoints[0]!.interval).toBe('30s');
    expect(monitor.metadata.labels).not.toHaveProperty('release');
  });

  it('take the operator\'s interval and labels, never over the labels that name the endpoint\'s children', () => {
    const settings = options('--service-monitor-interval=15s', '--service-monitor-labels=release=kube-prometheus-stack,app.kubernetes.io/instance=other').serviceMonitor;
    const monitor = serviceMonitorFor(chat, settings) as unknown as { metadata: { labels: Record<string, string> }; spec: { endpoints: { interval: string }[] } };
    expect(monitor.spec.endpoints[0]!.interval).toBe('15s');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.metadata.labels['app.kubernetes.io/instance']).toBe('chat');
  });

  it('refuses an interval Prometheus would not take and a label the API server would refuse', () => {
    expect(() => options('--service-monitor-interval=soon')).toThrow(/--service-monitor-interval/);
    expect(() => options('--service-monitor-labels=release')).toThrow(/--service-monitor-labels/);
    expect(() => options('--service-monitor-labels=bad key=x')).toThrow(/--service-monitor-labels/);
  });
});
