import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createNamespace, testCluster } from '../cluster.ts';

describe('kubectl --dry-run=server against the real API server', () => {
  const cluster = testCluster();
  let ns: Awaited<ReturnType<typeof createNamespace>>;

  beforeAll(async () => {
    ns = await createNamespace(cluster.core, 'dryrun');
  });
  afterAll(async () => ns.remove());

  const configMap = (data: Record<string, unknown>): string =>
    stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'proof' }, data });

  it('validates and admits a manifest without persisting it', async () => {
    const result = await cluster.kubectl(['apply', '--dry-run=server', '-n', ns.name, '-f', '-'], configMap({ key: 'value' }));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('configmap/proof created (server dry run)');
    const listed = await cluster.core.listNamespacedConfigMap({ namespace: ns.name, fieldSelector: 'metadata.name=proof' });
    expect(listed.items).toHaveLength(0);
  });

  it('reports what the server rejects', async () => {
    const result = await cluster.kubectl(['apply', '--dry-run=server', '-n', ns.name, '-f', '-'], configMap({ 'bad key!': 'value' }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('data[bad key!]');
  });
});
