import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiextensionsV1Api, CustomObjectsApi, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { createNamespace, testCluster } from '../cluster.ts';
import { waitFor } from '../../harness/processes.ts';

const GROUP = 'proof.attested.dev';
const crd: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [{
      name: 'v1',
      served: true,
      storage: true,
      subresources: { status: {} },
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 } } },
            status: { type: 'object', properties: { phase: { type: 'string' } } },
          },
        },
      },
    }],
  },
};

describe('a CRD with a status subresource on the real API server', () => {
  const cluster = testCluster();
  const ext = cluster.kc.makeApiClient(ApiextensionsV1Api);
  const objects = cluster.kc.makeApiClient(CustomObjectsApi);
  let ns: Awaited<ReturnType<typeof createNamespace>>;

  beforeAll(async () => {
    ns = await createNamespace(cluster.core, 'crd');
    await ext.createCustomResourceDefinition({ body: crd });
    await waitFor('the CRD to be Established', async () => {
      const got = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
    }, { timeoutMs: 30_000 });
  });

  afterAll(async () => {
    await ext.deleteCustomResourceDefinition({ name: crd.metadata!.name! });
    await ns.remove();
  });

  it('round-trips spec and status through their own endpoints', async () => {
    const base = { group: GROUP, version: 'v1', namespace: ns.name, plural: 'widgets' };
    await objects.createNamespacedCustomObject({
      ...base,
      body: { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 }, status: { phase: 'ignored-on-create' } },
    });
    const created = (await objects.getNamespacedCustomObject({ ...base, name: 'w1' })) as { spec: { size: number }; status?: unknown; metadata: { generation: number } };
    expect(created.spec.size).toBe(3);
    expect(created.status).toBeUndefined(); // the main endpoint drops status when the subresource is on

    await objects.patchNamespacedCustomObjectStatus({ ...base, name: 'w1', body: [{ op: 'add', path: '/status', value: { phase: 'Ready' } }] });
    const after = (await objects.getNamespacedCustomObject({ ...base, name: 'w1' })) as { status: { phase: string }; metadata: { generation: number } };
    expect(after.status.phase).toBe('Ready');
    expect(after.metadata.generation).toBe(created.metadata.generation); // status writes do not bump generation
  });

  it('refuses an object that breaks the schema, naming the field', async () => {
    const result = await cluster.kubectl(['apply', '-n', ns.name, '-f', '-'], JSON.stringify({
      apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 },
    }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('spec.size');
  });
});
