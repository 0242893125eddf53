import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shareConnections } from '../../../proxy/auth/kube-connections.ts';
import { testCluster } from '../cluster.ts';
import { kubeConfigVia, startFlakyProxy, type FlakyProxy } from './controller-helpers.ts';

describe('shareConnections against the API server', () => {
  const cluster = testCluster();
  let relay: FlakyProxy;
  beforeAll(async () => {
    relay = await startFlakyProxy(cluster.kc.getCurrentCluster()!.server);
  });
  afterAll(async () => relay.close());

  const requests = async (api: CoreV1Api): Promise<number> => {
    const before = relay.accepted();
    for (let i = 0; i < 10; i++) await api.listNamespace({ limit: 1 });
    await Promise.all(Array.from({ length: 5 }, () => api.listNamespace({ limit: 1 })));
    return relay.accepted() - before;
  };

  it('makes client-node reuse its connections instead of opening one per request', async () => {
    const shared = await requests(shareConnections(kubeConfigVia(cluster.kc, relay.server)).makeApiClient(CoreV1Api));
    // Sequential requests share one connection; five at once need at most five.
    expect(shared).toBeLessThanOrEqual(6);
    // Without it, client-node 2 opens a connection for every request (what this works around).
    const unshared = await requests(kubeConfigVia(cluster.kc, relay.server).makeApiClient(CoreV1Api));
    expect(unshared).toBe(15);
  });
});
