import type { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { shareConnections } from './kube-connections.ts';

/** fakeConfig stands in for client-node's KubeConfig: it counts the dispatchers built and closed. */
function fakeConfig(): { kc: KubeConfig; built: () => number; closed: () => number } {
  let built = 0;
  let closed = 0;
  const kc = {
    createDispatcher: () => {
      built += 1;
      return { close: () => {
        closed += 1;
        return Promise.resolve();
      } };
    },
  };
  return { kc: kc as unknown as KubeConfig, built: () => built, closed: () => closed };
}

type Create = (cluster: { server: string } | null, options: Record<string, unknown>) => unknown;
const create = (kc: KubeConfig): Create => (kc as unknown as { createDispatcher: Create }).createDispatcher;

describe('shareConnections', () => {
  const cluster = { server: 'https://127.0.0.1:6443' };

  it('builds one dispatcher per server and TLS identity', () => {
    const fake = fakeConfig();
    const kc = shareConnections(fake.kc);
    const first = create(kc)(cluster, { ca: Buffer.from('ca'), cert: Buffer.from('cert-1') });
    expect(create(kc)(cluster, { ca: Buffer.from('ca'), cert: Buffer.from('cert-1') })).toBe(first);
    expect(fake.built()).toBe(1);
  });

  it('builds a new one when the certificate rotates, and closes the one it replaces', () => {
    const fake = fakeConfig();
    const kc = shareConnections(fake.kc);
    const first = create(kc)(cluster, { cert: Buffer.from('cert-1') });
    const second = create(kc)(cluster, { cert: Buffer.from('cert-2') });
    expect(second).not.toBe(first);
    expect([fake.built(), fake.closed()]).toEqual([2, 1]);
  });

  it('refuses a client-node that no longer builds dispatchers this way', () => {
    expect(() => shareConnections({} as KubeConfig)).toThrow(/createDispatcher/);
  });
});
