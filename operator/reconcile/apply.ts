import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { contentHash } from '../resources/hash.ts';
import { claimFor, controlledBy, type Claim } from './ownership.ts';
import type { ClusterPort } from './port.ts';

/** Plan is what the reconciler does with one desired child: leave it (as written), or what its Claim allows. */
export type Plan = { readonly decision: 'Skip' } | Claim;

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
 * server-side apply, which also puts back fields another manager changed (drift correction), but
 * only on an object the endpoint controls (docs/adr/0010-no-adoption.md).
 */
export class AppliedRecords {
  readonly #records = new Map<string, AppliedRecord>();

  static id(object: KubernetesObject): string {
    return `${object.apiVersion ?? ''}/${object.kind ?? ''}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
  }

  /**
   * plan decides what to do with one desired child of `endpoint`. A child unchanged since the
   * operator wrote it is skipped on the cache's word alone (no request at steady state). The
   * cache holds only objects labelled as the operator's, and a label proves nothing: only a
   * controller reference to this endpoint's UID does. So a cached object that is ours is applied,
   * and anything else (absent from the cache, or there but not ours) is read from the API server
   * and claimed by `claimFor` (operator/reconcile/ownership.ts).
   */
  async plan(port: ClusterPort, endpoint: InferenceEndpoint, object: KubernetesObject): Promise<Plan> {
    const record = this.#records.get(AppliedRecords.id(object));
    const cached = await port.liveMetadata(object);
    if (record?.hash === contentHash(object) && cached !== undefined && stillAsWritten(record, cached, object.metadata ?? {})) {
      record.resourceVersion = cached.resourceVersion;
      return { decision: 'Skip' };
    }
    if (cached !== undefined && controlledBy(cached, endpoint)) return { decision: 'Apply', uid: cached.uid ?? '' };
    return claimFor(endpoint, object, await port.readMetadata(object));
  }

  /**
   * write creates a child whose name is free or server-side applies one that is the endpoint's
   * (its UID a precondition: a replacement under the same name is refused, not overwritten), and
   * remembers what it wrote; it returns the stored object.
   */
  async write(port: ClusterPort, object: KubernetesObject, claim: Extract<Claim, { decision: 'Create' | 'Apply' }>): Promise<KubernetesObject> {
    const stored = claim.decision === 'Create' ? await port.create(object) : await port.apply({ ...object, metadata: Object.assign({}, object.metadata, { uid: claim.uid }) });
    const { resourceVersion, generation } = stored.metadata ?? {};
    this.#records.set(AppliedRecords.id(object), { hash: contentHash(object), resourceVersion, generation, namespace: object.metadata?.namespace ?? '', name: object.metadata?.name ?? '' });
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
