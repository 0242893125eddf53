import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Controller, related, type ReconcileResult } from './controller.ts';
import { FakeClock, settle } from './fake-clock.ts';
import type { AddHandler, DeleteHandler, ObjectSource, UpdateHandler } from './informer.ts';
import { objectKey, ownerMapper } from './keys.ts';
import { Manager } from './manager.ts';
import { createControllerMetrics } from './metrics.ts';

/** FakeSource is an in-memory ObjectSource a test drives by hand. */
class FakeSource implements ObjectSource<KubernetesObject> {
  readonly resource = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
  readonly objects = new Map<string, KubernetesObject>();
  readonly #adds: AddHandler<KubernetesObject>[] = [];
  readonly #updates: UpdateHandler<KubernetesObject>[] = [];
  readonly #deletes: DeleteHandler<KubernetesObject>[] = [];
  synced = true;

  get(namespace: string, name: string): KubernetesObject | undefined { return this.objects.get(`${namespace}/${name}`); }
  list(): readonly KubernetesObject[] { return [...this.objects.values()]; }
  onAdd(h: AddHandler<KubernetesObject>): void { this.#adds.push(h); }
  onUpdate(h: UpdateHandler<KubernetesObject>): void { this.#updates.push(h); }
  onDelete(h: DeleteHandler<KubernetesObject>): void { this.#deletes.push(h); }
  hasSynced(): boolean { return this.synced; }
  waitForSync(): Promise<void> { return Promise.resolve(); }
  start(): void { /* nothing to start */ }
  stop(): Promise<void> { return Promise.resolve(); }

  put(object: KubernetesObject): void {
    const key = objectKey(object);
    const previous = this.objects.get(key);
    this.objects.set(key, object);
    if (previous === undefined) for (const h of this.#adds) h(object);
    else for (const h of this.#updates) h(object, previous);
  }

  remove(object: KubernetesObject): void {
    this.objects.delete(objectKey(object));
    for (const h of this.#deletes) h(object);
  }
}

const cm = (name: string, extra: Partial<KubernetesObject['metadata']> = {}): KubernetesObject => ({ metadata: { namespace: 'ns', name, ...extra } });

async function metric(registry: Registry, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const json = await registry.getMetricsAsJSON();
  return (json.find((m) => m.name === name)?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
}

function setup(reconcile: (key: string) => Promise<ReconcileResult>): { clock: FakeClock; source: FakeSource; owned: FakeSource; registry: Registry; controller: Controller } {
  const clock = new FakeClock();
  const registry = new Registry();
  const source = new FakeSource();
  const owned = new FakeSource();
  const controller = new Controller(
    { logger: pino({ level: 'silent' }), metrics: createControllerMetrics(registry), clock },
    { name: 'test', primary: source, watches: [related(owned, ownerMapper({ apiVersion: 'v1', kind: 'ConfigMap' }))], reconcile, workers: 2, rateLimits: { baseDelayMs: 100, maxDelayMs: 1_000 } },
  );
  return { clock, source, owned, registry, controller };
}

describe('Controller', () => {
  it('queues events before it starts and reconciles every cached key once started', async () => {
    const seen: string[] = [];
    const { source, controller } = setup((key) => { seen.push(key); return Promise.resolve({}); });
    source.put(cm('a'));
    source.put(cm('b'));
    await settle();
    expect(seen).toEqual([]);
    expect(controller.queue.depth()).toBe(2);
    controller.start();
    await settle();
    expect(seen.sort()).toEqual(['ns/a', 'ns/b']);
    source.remove(cm('a'));
    await settle();
    expect(seen).toHaveLength(3);
    await controller.shutdown();
  });

  it('retries a failing key with growing backoff, counting errors, then succeeds', async () => {
    let attempts = 0;
    const { clock, source, registry, controller } = setup(() => {
      attempts++;
      return attempts <= 3 ? Promise.reject(new Error('transient')) : Promise.resolve({});
    });
    controller.start();
    source.put(cm('a'));
    await settle();
    expect(attempts).toBe(1);
    await clock.advance(100);
    expect(attempts).toBe(2);
    await clock.advance(199);
    expect(attempts).toBe(2);
    await clock.advance(1);
    expect(attempts).toBe(3);
    await clock.advance(400);
    expect(attempts).toBe(4);
    expect(controller.queue.numRequeues('ns/a')).toBe(0); // forgotten after the success
    expect(await metric(registry, 'attested_inference_operator_reconcile_errors_total')).toEqual([{ labels: { controller: 'test' }, value: 3 }]);
    const totals = await metric(registry, 'attested_inference_operator_reconcile_total');
    expect(totals).toEqual(expect.arrayContaining([
      { labels: { controller: 'test', result: 'error' }, value: 3 },
      { labels: { controller: 'test', result: 'success' }, value: 1 },
    ]));
    await controller.shutdown();
  });

  it('requeues after the asked delay, and treats a 404 as done', async () => {
    const seen: string[] = [];
    const { clock, source, registry, controller } = setup((key) => {
      seen.push(key);
      if (key === 'ns/gone') return Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
      return Promise.resolve({ requeueAfterMs: 60_000 });
    });
    controller.start();
    source.put(cm('a'));
    source.put(cm('gone'));
    await settle();
    await clock.advance(59_999);
    expect(seen.filter((k) => k === 'ns/a')).toHaveLength(1);
    await clock.advance(1);
    expect(seen.filter((k) => k === 'ns/a')).toHaveLength(2);
    expect(seen.filter((k) => k === 'ns/gone')).toHaveLength(1);
    expect(await metric(registry, 'attested_inference_operator_reconcile_errors_total')).toEqual([]);
    await controller.shutdown();
  });

  it('maps owned objects to their owners, old and new', async () => {
    const seen: string[] = [];
    const { owned, controller } = setup((key) => { seen.push(key); return Promise.resolve({}); });
    controller.start();
    const ref = (name: string): NonNullable<KubernetesObject['metadata']>['ownerReferences'] => [{ apiVersion: 'v1', kind: 'ConfigMap', name, uid: name }];
    owned.put(cm('child', { ownerReferences: ref('parent') }));
    await settle();
    expect(seen).toEqual(['ns/parent']);
    owned.put(cm('child', { ownerReferences: ref('new-parent') }));
    await settle();
    expect(seen.slice(1).sort()).toEqual(['ns/new-parent', 'ns/parent']);
    await controller.shutdown();
  });

  it('reports queue depth through the gauge', async () => {
    const { source, registry, controller } = setup(() => Promise.resolve({}));
    source.put(cm('a'));
    source.put(cm('b'));
    expect(await metric(registry, 'attested_inference_operator_workqueue_depth')).toEqual([{ labels: { controller: 'test' }, value: 2 }]);
    await controller.shutdown();
  });
});

describe('Manager without an elector', () => {
  it('leads at once, runs controllers, and stops them', async () => {
    const seen: string[] = [];
    const { source, controller } = setup((key) => { seen.push(key); return Promise.resolve({}); });
    const metrics = createControllerMetrics(new Registry());
    const manager = new Manager({ logger: pino({ level: 'silent' }), metrics }, { informers: [source], controllers: [controller] });
    source.put(cm('a'));
    expect(manager.isReady()).toBe(false);
    await manager.start();
    expect(manager.isReady()).toBe(true);
    expect(manager.isLeader()).toBe(true);
    await settle();
    expect(seen).toEqual(['ns/a']);
    await manager.stop();
    expect(manager.isLeader()).toBe(false);
    expect(controller.isRunning()).toBe(false);
    source.put(cm('b'));
    expect(controller.queue.depth()).toBe(0);
  });
});
