import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiException, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { createNamespace, testCluster } from '../cluster.ts';
import { tokenKubeconfig } from '../../harness/kubeconfig.ts';
import { waitFor } from '../../harness/processes.ts';

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

describe('RBAC on the real API server', () => {
  const cluster = testCluster();
  const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let asServiceAccount: CoreV1Api;

  beforeAll(async () => {
    ns = await createNamespace(cluster.core, 'rbac');
    await cluster.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'nobody' } } });
    const request = await cluster.core.createNamespacedServiceAccountToken({
      name: 'nobody',
      namespace: ns.name,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const caPem = Buffer.from(cluster.kc.getCurrentCluster()!.caData!, 'base64').toString();
    const kc = new KubeConfig();
    kc.loadFromString(tokenKubeconfig({ server: cluster.server, caPem, token: request.status!.token! }));
    asServiceAccount = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => ns.remove());

  it('refuses a ServiceAccount without rights, then allows it once bound', async () => {
    expect(await statusOf(asServiceAccount.listNamespacedPod({ namespace: ns.name }))).toBe(403);
    expect(await statusOf(asServiceAccount.listNamespacedSecret({ namespace: ns.name }))).toBe(403);

    await rbac.createNamespacedRole({
      namespace: ns.name,
      body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns.name,
      body: {
        metadata: { name: 'pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'nobody', namespace: ns.name }],
      },
    });
    await waitFor('the binding to take effect', async () => (await statusOf(asServiceAccount.listNamespacedPod({ namespace: ns.name }))) === 200, { timeoutMs: 10_000 });
    expect(await statusOf(asServiceAccount.listNamespacedSecret({ namespace: ns.name }))).toBe(403);
    expect(await statusOf(asServiceAccount.listNamespacedPod({ namespace: 'default' }))).toBe(403);
  });
});
