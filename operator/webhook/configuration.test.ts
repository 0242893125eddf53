import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { configurationCurrent, webhookConfigurationFor } from './configuration.ts';

const options = { name: 'injector', client: { service: { name: 'webhook', namespace: 'aio', port: 443 } }, operatorNamespace: 'aio', failurePolicy: 'Fail' } as const;
const desired = webhookConfigurationFor(options, 'CA PEM');

/** live is what the API server gives back: the applied webhooks plus fields it defaults. */
function live(edit: (c: V1MutatingWebhookConfiguration) => void = () => undefined): V1MutatingWebhookConfiguration {
  const copy = structuredClone(desired);
  Object.assign(copy.metadata ?? {}, { resourceVersion: '7', uid: 'u' });
  for (const w of copy.webhooks ?? []) {
    Object.assign(w, { matchPolicy: 'Equivalent' });
    for (const r of w.rules ?? []) r.scope ??= '*';
  }
  edit(copy);
  return copy;
}

describe('the webhook configuration', () => {
  it('keeps pods that opted out away from the webhook in opted-in namespaces, and elsewhere sends only pods that ask', () => {
    const [namespaces, pods] = desired.webhooks ?? [];
    expect(namespaces?.matchConditions).toEqual([{ name: 'pod-has-not-opted-out', expression: expect.stringContaining("in ['false', 'disabled']") as unknown }]);
    expect(namespaces?.matchConditions?.[0]?.expression.startsWith('!(')).toBe(true);
    expect(pods?.matchConditions?.[0]?.name).toBe('pod-asks-for-injection');
  });

  it('is current when the live one carries every applied field, whatever the API server added', () => {
    expect(configurationCurrent(desired, live())).toBe(true);
  });

  it('is not current when the caBundle was blanked, a field was changed or a webhook is gone', () => {
    expect(configurationCurrent(desired, live((c) => { delete c.webhooks![0]!.clientConfig.caBundle; }))).toBe(false);
    expect(configurationCurrent(desired, live((c) => { c.webhooks![1]!.clientConfig.caBundle = Buffer.from('other').toString('base64'); }))).toBe(false);
    expect(configurationCurrent(desired, live((c) => { c.webhooks![0]!.failurePolicy = 'Ignore'; }))).toBe(false);
    expect(configurationCurrent(desired, live((c) => { c.webhooks![0]!.matchConditions = []; }))).toBe(false);
    expect(configurationCurrent(desired, live((c) => { c.webhooks = c.webhooks!.slice(1); }))).toBe(false);
    expect(configurationCurrent(desired, undefined)).toBe(false);
  });
});
