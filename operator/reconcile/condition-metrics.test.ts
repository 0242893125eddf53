import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { registerConditionMetric } from './condition-metrics.ts';

const endpoint = (namespace: string, name: string, conditions: { type: string; status: string; reason: string }[]): InferenceEndpoint =>
  ({ metadata: { namespace, name }, status: { conditions: conditions.map((c) => ({ ...c, message: '', lastTransitionTime: '' })) } }) as unknown as InferenceEndpoint;

describe('registerConditionMetric', () => {
  it('reports each condition of each cached endpoint as one series, read at scrape time', async () => {
    const registry = new Registry();
    let endpoints = [endpoint('team-a', 'chat', [{ type: 'Ready', status: 'False', reason: 'WaitingForPods' }, { type: 'Attested', status: 'True', reason: 'Verified' }])];
    registerConditionMetric(registry, { endpoints: () => endpoints, exporting: () => true });
    const text = await registry.metrics();
    expect(text).toContain('attested_inference_operator_endpoint_condition{endpoint="team-a/chat",type="Ready",status="False",reason="WaitingForPods"} 1');
    expect(text).toContain('attested_inference_operator_endpoint_condition{endpoint="team-a/chat",type="Attested",status="True",reason="Verified"} 1');
    endpoints = [endpoint('team-a', 'chat', [{ type: 'Ready', status: 'True', reason: 'ProxyPodsReady' }])];
    const after = await registry.metrics();
    expect(after).not.toContain('WaitingForPods');
    expect(after).not.toContain('Attested');
    endpoints = [];
    expect(await registry.metrics()).not.toContain('endpoint=');
  });

  it('reports nothing on a replica that does not lead', async () => {
    const registry = new Registry();
    registerConditionMetric(registry, { endpoints: () => [endpoint('a', 'b', [{ type: 'Ready', status: 'True', reason: 'ProxyPodsReady' }])], exporting: () => false });
    expect(await registry.metrics()).not.toContain('endpoint=');
  });
});
