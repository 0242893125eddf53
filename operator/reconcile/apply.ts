import type { KubernetesObject } from '@kubernetes/client-node';
import { contentHash } from '../resources/hash.ts';
import type { ClusterPort } from './port.ts';

/**
 * AppliedRecords remembers, per child, the hash of what the operator last applied and the
 * resourceVersion the API server gave back. A child whose desired content and resourceVersion are
 * both unchanged is not applied again: at steady state the operator writes nothing. Any other
 * change (someone edited the child, or the desired state moved) gets a server-side apply, which
 * also puts back fields another manager changed (drift correction).
 */
export class AppliedRecords {
  readonly #records = new Map<string, { hash: string; resourceVersion: string | undefined; namespace: string; name: string }>();

  static id(object: KubernetesObject): string {
    return `${object.apiVersion ?? ''}/${object.kind ?? ''}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
  }

  /** applyIfChanged applies `object` unless it is known to be in place; returns whether it wrote. */
  async applyIfChanged(port: ClusterPort, object: KubernetesObject, liveResourceVersion?: string): Promise<boolean> {
    const id = AppliedRecords.id(object);
    const hash = contentHash(object);
    const record = this.#records.get(id);
    if (record?.hash === hash) {
      const live = liveResourceVersion ?? (await port.resourceVersion(object));
      if (live !== undefined && live === record.resourceVersion) return false;
    }
    const stored = await port.apply(object);
    this.#records.set(id, { hash, resourceVersion: stored.metadata?.resourceVersion, namespace: object.metadata?.namespace ?? '', name: object.metadata?.name ?? '' });
    return true;
  }

  /** forget drops the records of a deleted endpoint's children (named `names` in `namespace`). */
  forget(namespace: string, names: readonly string[]): void {
    for (const [id, record] of this.#records) {
      if (record.namespace === namespace && names.includes(record.name)) this.#records.delete(id);
    }
  }
}
