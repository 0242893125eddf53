import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceInformer, type ResourceType } from '../../../operator/controller/informer.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { eventually, kubeConfigVia, quietLogger, startFlakyProxy } from './controller-helpers.ts';

const CONFIGMAPS: ResourceType = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };

type Namespace = Awaited<ReturnType<typeof createNamespace>>;

/** versions maps name to resourceVersion, the shape compared between a cache and the API server. */
function versions(objects: readonly V1ConfigMap[]): Record<string, string> {
  return Object.fromEntries(objects.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
}

async function serverVersions(core: CoreV1Api, namespace: string, labelSelector?: string): Promise<Record<string, string>> {
  return versions((await core.listNamespacedConfigMap({ namespace, labelSelector })).items);
}

describe('ResourceInformer against the API server', () => {
  const cluster = testCluster();
  const { core } = cluster;
  let ns: Namespace;
  let other: Namespace;

  beforeAll(async () => {
    [ns, other] = await Promise.all([createNamespace(core, 'informer'), createNamespace(core, 'informer-other')]);
  });

  afterAll(async () => {
    await Promise.all([ns.remove(), other.remove()]);
  });

  it('sees ConfigMaps created, updated and deleted, and its cache matches the server', async () => {
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'before' }, data: { a: '1' } } });
    const informer = new ResourceInformer<V1ConfigMap>({ kc: cluster.kc, logger: quietLogger() }, { resource: CONFIGMAPS, namespaces: [ns.name] });
    const events: string[] = [];
    informer.onAdd((o) => events.push(`add ${o.metadata!.name!}`));
    informer.onUpdate((o, previous) => events.push(`update ${o.metadata!.name!} ${previous?.data?.a ?? '-'}→${o.data?.a ?? '-'}`));
    informer.onDelete((o) => events.push(`delete ${o.metadata!.name!}`));
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(10_000));
    expect(informer.hasSynced()).toBe(true);
    expect(events).toContain('add before');
    // Listed objects carry apiVersion and kind, as watched ones do.
    expect(informer.get(ns.name, 'before')).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: '1' } });

    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'later' }, data: { a: '1' } } });
    await core.patchNamespacedConfigMap({ namespace: ns.name, name: 'later', body: [{ op: 'replace', path: '/data/a', value: '2' }] });
    await core.deleteNamespacedConfigMap({ namespace: ns.name, name: 'before' });
    await eventually(async () => {
      expect(versions(informer.list(ns.name))).toEqual(await serverVersions(core, ns.name));
    });
    expect(events).toEqual(expect.arrayContaining(['add later', 'update later 1→2', 'delete before']));
    expect(informer.get(ns.name, 'before')).toBeUndefined();
    expect(informer.get(ns.name, 'later')?.data).toEqual({ a: '2' });
    await informer.stop();
  });

  it('metadataOnly caches metadata alone, listed and watched, and no cache keeps managedFields', async () => {
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'meta-before', labels: { kept: 'yes' } }, data: { big: 'x'.repeat(4096) } } });
    const meta = new ResourceInformer<V1ConfigMap>({ kc: cluster.kc, logger: quietLogger() }, { resource: CONFIGMAPS, namespaces: [ns.name], metadataOnly: true });
    const full = new ResourceInformer<V1ConfigMap>({ kc: cluster.kc, logger: quietLogger() }, { resource: CONFIGMAPS, namespaces: [ns.name] });
    meta.start();
    full.start();
    await Promise.all([meta.waitForSync(AbortSignal.timeout(10_000)), full.waitForSync(AbortSignal.timeout(10_000))]);
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'meta-later' }, data: { big: 'y'.repeat(4096) } } });
    await eventually(() => {
      expect(meta.get(ns.name, 'meta-later')).toBeDefined();
    });
    for (const name of ['meta-before', 'meta-later']) {
      const cached = meta.get(ns.name, name)!;
      expect(cached).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns.name } });
      expect(cached.data).toBeUndefined();
      expect(cached.metadata?.resourceVersion).toBe(full.get(ns.name, name)?.metadata?.resourceVersion);
      expect(cached.metadata?.managedFields).toBeUndefined();
      expect(full.get(ns.name, name)?.data?.big).toHaveLength(4096);
      expect(full.get(ns.name, name)?.metadata?.managedFields).toBeUndefined();
    }
    expect(meta.get(ns.name, 'meta-before')?.metadata?.labels).toEqual({ kept: 'yes' });
    await Promise.all([meta.stop(), full.stop()]);
  });

  it('watches only its namespaces, one list/watch each', async () => {
    await core.createNamespacedConfigMap({ namespace: other.name, body: { metadata: { name: 'elsewhere' } } });
    const only = new ResourceInformer<V1ConfigMap>({ kc: cluster.kc, logger: quietLogger() }, { resource: CONFIGMAPS, namespaces: [ns.name] });
    const both = new ResourceInformer<V1ConfigMap>({ kc: cluster.kc, logger: quietLogger() }, { resource: CONFIGMAPS, namespaces: [ns.name, other.name] });
    only.start();
    both.start();
    await Promise.all([only.waitForSync(AbortSignal.timeout(10_000)), both.waitForSync(AbortSignal.timeout(10_000))]);
    expect(only.get(other.name, 'elsewhere')).toBeUndefined();
    expect(only.list().every((o) => o.metadata!.namespace === ns.name)).toBe(true);
    expect(both.get(other.name, 'elsewhere')).toBeDefined();
    expect(new Set(both.list().map((o) => o.metadata!.namespace))).toEqual(new Set([ns.name, other.name]));
    expect(both.list(other.name).map((o) => o.metadata!.name)).toContain('elsewhere');
    expect(both.namespaces).toEqual([ns.name, other.name]);
    await Promise.all([only.stop(), both.stop()]);
  });

  it('honours a label selector, dropping an object whose label no longer matches', async () => {
    const informer = new ResourceInformer<V1ConfigMap>({ kc: cluster.kc, logger: quietLogger() }, { resource: CONFIGMAPS, namespaces: [other.name], labelSelector: 'team=blue' });
    const deleted: string[] = [];
    informer.onDelete((o) => deleted.push(o.metadata!.name!));
    informer.start();
    await informer.waitForSync(AbortSignal.timeout(10_000));
    await core.createNamespacedConfigMap({ namespace: other.name, body: { metadata: { name: 'blue', labels: { team: 'blue' } } } });
    await core.createNamespacedConfigMap({ namespace: other.name, body: { metadata: { name: 'red', labels: { team: 'red' } } } });
    await eventually(() => expect(informer.get(other.name, 'blue')).toBeDefined());
    expect(informer.get(other.name, 'red')).toBeUndefined();
    await core.patchNamespacedConfigMap({ namespace: other.name, name: 'blue', body: [{ op: 'replace', path: '/metadata/labels/team', value: 'green' }] });
    await eventually(() => expect(deleted).toEqual(['blue']));
    expect(informer.list()).toEqual([]);
    await informer.stop();
  });

  it('restarts a broken watch and catches up on what changed meanwhile', async () => {
    const proxy = await startFlakyProxy(cluster.server);
    try {
      const informer = new ResourceInformer<V1ConfigMap>(
        { kc: kubeConfigVia(cluster.kc, proxy.server), logger: quietLogger() },
        { resource: CONFIGMAPS, namespaces: [ns.name], restartDelayMs: { initial: 200, max: 1_000 } },
      );
      informer.start();
      await informer.waitForSync(AbortSignal.timeout(10_000));
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'watched' }, data: { v: '1' } } });
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'doomed' } } });
      await eventually(() => expect(informer.get(ns.name, 'doomed')).toBeDefined());

      proxy.down(); // the watch connection is reset and reconnects are refused: client-node's ListWatch gives up
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'while-down' } } });
      await core.patchNamespacedConfigMap({ namespace: ns.name, name: 'watched', body: [{ op: 'replace', path: '/data/v', value: '2' }] });
      await core.deleteNamespacedConfigMap({ namespace: ns.name, name: 'doomed' });
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // a few failed restarts
      expect(informer.get(ns.name, 'while-down')).toBeUndefined();
      expect(informer.hasSynced()).toBe(true); // a stale cache is still a synced one

      proxy.up();
      await eventually(async () => {
        expect(versions(informer.list(ns.name))).toEqual(await serverVersions(core, ns.name));
      }, 15_000);
      expect(informer.get(ns.name, 'watched')?.data).toEqual({ v: '2' });
      expect(informer.get(ns.name, 'doomed')).toBeUndefined();

      // And it keeps watching after the restart.
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'after' } } });
      await eventually(() => expect(informer.get(ns.name, 'after')).toBeDefined());
      await informer.stop();
    } finally {
      await proxy.close();
    }
  });
});
