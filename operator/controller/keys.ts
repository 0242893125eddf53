import type { KubernetesObject } from '@kubernetes/client-node';

/** ObjectName is a split work-queue key; `namespace` is '' for a cluster-scoped object. */
export interface ObjectName {
  readonly namespace: string;
  readonly name: string;
}

/** objectKey is `namespace/name` (or `name` for a cluster-scoped object), client-go's MetaNamespaceKeyFunc. */
export function objectKey(object: KubernetesObject): string {
  const namespace = object.metadata?.namespace ?? '';
  const name = object.metadata?.name ?? '';
  return namespace === '' ? name : `${namespace}/${name}`;
}

/** splitKey undoes objectKey. */
export function splitKey(key: string): ObjectName {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** KeyMapper turns an event on a related object into keys of the primary resource to reconcile. */
export type KeyMapper<T extends KubernetesObject = KubernetesObject> = (object: T) => readonly string[];

/** OwnerKind names the primary resource; the group is matched, not the version, since an owner reference records whichever version created it. */
export interface OwnerKind {
  readonly apiVersion: string;
  readonly kind: string;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * ownerMapper maps an owned object to its owners of kind `owner`, in the object's own namespace
 * (owner references never cross namespaces). With `controllerOnly` only the managing controller
 * counts, as controller-runtime's EnqueueRequestForOwner with OnlyControllerOwner.
 */
export function ownerMapper(owner: OwnerKind, options: { controllerOnly?: boolean } = {}): KeyMapper {
  const group = groupOf(owner.apiVersion);
  return (object) => {
    const namespace = object.metadata?.namespace ?? '';
    return (object.metadata?.ownerReferences ?? [])
      .filter((ref) => ref.kind === owner.kind && groupOf(ref.apiVersion) === group)
      .filter((ref) => options.controllerOnly !== true || ref.controller === true)
      .map((ref) => objectKey({ metadata: { namespace, name: ref.name } }));
  };
}

/** labelMapper maps an object carrying label `label` to the primary object of that name in the object's namespace. */
export function labelMapper(label: string): KeyMapper {
  return (object) => {
    const value = object.metadata?.labels?.[label];
    return value === undefined || value === '' ? [] : [objectKey({ metadata: { namespace: object.metadata?.namespace ?? '', name: value } })];
  };
}

/** annotationMapper is labelMapper for an annotation (such as the injection annotation naming an endpoint). */
export function annotationMapper(annotation: string): KeyMapper {
  return (object) => {
    const value = object.metadata?.annotations?.[annotation];
    return value === undefined || value === '' ? [] : [objectKey({ metadata: { namespace: object.metadata?.namespace ?? '', name: value } })];
  };
}
