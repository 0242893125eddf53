import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import { contentHash } from '../resources/hash.ts';
import type { ClusterPort } from './port.ts';

interface AppliedRecord {
  readonly hash: string;
  resourceVersion: string | undefined;
  readonly generation: number | undefined;
  readonly namespace: string;
  readonly name: string;
}

/**
 * AppliedRecords remembers, per child, the hash of what the operator last applied and the
 * resourceVersion and generation the API server gave back. A child whose desired content is
 * unchanged and that is still as written is not applied again: at steady state the operator
 * writes nothing. Any other change (someone edited the child, or the desired state moved) gets a
 * server-side apply, which also puts back fields another manager changed (drift correction).
 */
export class AppliedRecords {
  readonly #records = new Map<string, AppliedRecord>();

  static id(object: KubernetesObject): string {
    return `${object.apiVersion ?? ''}/${object.kind ?? ''}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
  }

  /** applyIfChanged applies `object` unless it is known to be in place; it returns the stored object when it wrote. */
  async applyIfChanged(port: ClusterPort, object: KubernetesObject): Promise<KubernetesObject | undefined> {
    const id = AppliedRecords.id(object);
    const hash = contentHash(object);
    const record = this.#records.get(id);
    if (record?.hash === hash) {
      const live = await port.liveMetadata(object);
      if (live !== undefined && stillAsWritten(record, live, object.metadata ?? {})) {
        record.resourceVersion = live.resourceVersion;
        return undefined;
      }
    }
    const stored = await port.apply(object);
    const { resourceVersion, generation } = stored.metadata ?? {};
    this.#records.set(id, { hash, resourceVersion, generation, namespace: object.metadata?.namespace ?? '', name: object.metadata?.name ?? '' });
    return stored;
  }

  /** isOwnWrite tells whether `object` is exactly what the operator last wrote (a watch echoing the write). */
  isOwnWrite(object: KubernetesObject): boolean {
    const version = object.metadata?.resourceVersion;
    return version !== undefined && this.#records.get(AppliedRecords.id(object))?.resourceVersion === version;
  }

  /** forget drops the records of a deleted endpoint's children (named `names` in `namespace`). */
  forget(namespace: string, names: readonly string[]): void {
    for (const [id, record] of this.#records) {
      if (record.namespace === namespace && names.includes(record.name)) this.#records.delete(id);
    }
  }
}

/**
 * stillAsWritten tells whether a child is as the operator last applied it. An unchanged
 * resourceVersion says so for any kind. Objects with a spec generation (Deployments, PDBs) also
 * change resourceVersion when their controllers write status: for them an unchanged generation
 * (no spec edit) and the operator's own labels, annotations and owner references still in place
 * say so too, so status updates do not cause a write.
 */
export function stillAsWritten(record: Pick<AppliedRecord, 'resourceVersion' | 'generation'>, live: V1ObjectMeta, desired: V1ObjectMeta): boolean {
  if (live.resourceVersion !== undefined && live.resourceVersion === record.resourceVersion) return true;
  if (record.generation === undefined || live.generation !== record.generation) return false;
  return holds(desired.labels, live.labels) && holds(desired.annotations, live.annotations) && ownersHeld(desired, live);
}

function holds(wanted: Readonly<Record<string, string>> | undefined, actual: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([key, value]) => actual?.[key] === value);
}

function ownersHeld(desired: V1ObjectMeta, live: V1ObjectMeta): boolean {
  return (desired.ownerReferences ?? []).every((wanted) => live.ownerReferences?.some((o) => o.uid === wanted.uid && o.controller === wanted.controller) === true);
}
