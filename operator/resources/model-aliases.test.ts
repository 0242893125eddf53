import type { V1ConfigMap } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../proxy/config/load.ts';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import { desiredChildren, type DesiredOptions } from './desired.ts';

const options: DesiredOptions = { image: { image: 'registry.local/proxy:1.0.0', pullPolicy: 'IfNotPresent' }, tokenReviewClusterRole: 'attested-inference-tokenreview', apiServerPorts: [443] };

describe('model aliases and reservation settings in the rendered proxy configuration', () => {
  it('reach the proxy as the spec names them, and the proxy accepts them', () => {
    const spec = endpoint('aliased', {
      provider: 'tinfoil',
      apiKeySecretRef: { name: 'k' },
      models: { allowed: ['gpt-oss-120b'], aliases: { fast: { model: 'llama3-3-70b' } } },
      reservation: { defaultOutputTokens: 300, inputBytesPerToken: 2 },
    });
    const configMap = desiredChildren(spec, options).objects.find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
    const config = parseConfig(parseAllDocuments(configMap.data!['proxy.yaml']!)[0]!.toJS());
    expect(config.models).toEqual({ allowed: ['gpt-oss-120b'], aliases: { fast: { model: 'llama3-3-70b' } } });
    expect(config.limits.reservation).toEqual({ defaultOutputTokens: 300, inputBytesPerToken: 2 });
  });
});
