import type { KubernetesObject, V1ManagedFieldsEntry, V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { GROUP, KIND, type InferenceEndpoint } from '../api/v1alpha1/types.ts';

/**
 * Claim is what the operator may do with the name of one desired child, decided from the live
 * object of that name (docs/adr/0010-no-adoption.md):
 * - Create: nothing has the name; the child is created with a POST, which fails rather than
 *   overwrite if someone takes the name meanwhile.
 * - Apply: the live object is controlled by this endpoint (same UID); it is server-side applied
 *   with force, with its UID as a precondition so a replacement object is never written.
 * - AwaitCollection: the object is controlled by an earlier InferenceEndpoint of the same name
 *   (deleted, since names are unique, and recreated); the garbage collector is removing it.
 * - Conflict: anything else: unowned, or controlled by another object. It is never written.
 */
export type Claim =
  | { readonly decision: 'Create' }
  | { readonly decision: 'Apply'; readonly uid: string }
  | { readonly decision: 'AwaitCollection'; readonly holder: string }
  | { readonly decision: 'Conflict'; readonly holder: string };

/** controllerOf is the owner reference with `controller: true`, if any (at most one is allowed). */
export function controllerOf(meta: V1ObjectMeta | undefined): V1OwnerReference | undefined {
  return meta?.ownerReferences?.find((o) => o.controller === true);
}

const isEndpointReference = (o: V1OwnerReference): boolean => o.kind === KIND && o.apiVersion.split('/')[0] === GROUP;

/** controlledBy tells whether `meta` names the endpoint (by UID, which alone identifies it) as its controller. */
export function controlledBy(meta: V1ObjectMeta | undefined, endpoint: InferenceEndpoint): boolean {
  const controller = controllerOf(meta);
  const uid = endpoint.metadata.uid;
  return controller !== undefined && uid !== undefined && uid !== '' && controller.uid === uid && isEndpointReference(controller);
}

/** describeObject names an object for messages: `Kind namespace/name`. */
export function describeObject(object: KubernetesObject): string {
  return `${object.kind ?? ''} ${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function describeHolder(object: KubernetesObject, live: V1ObjectMeta): string {
  const controller = controllerOf(live);
  const by = controller === undefined ? 'controlled by no object' : `controlled by ${controller.kind} ${controller.name} (uid ${controller.uid})`;
  return `${describeObject(object)} (${by})`;
}

/**
 * claimFor decides the Claim on `object`'s name from `live`, the object of that name as the API
 * server has it now (undefined when absent). Checks, in order: absent, ours, our predecessor's,
 * anyone else's.
 */
export function claimFor(endpoint: InferenceEndpoint, object: KubernetesObject, live: V1ObjectMeta | undefined): Claim {
  if (live === undefined) return { decision: 'Create' };
  if (controlledBy(live, endpoint)) return { decision: 'Apply', uid: live.uid ?? '' };
  const controller = controllerOf(live);
  const predecessor = controller !== undefined && isEndpointReference(controller) && controller.name === endpoint.metadata.name;
  return { decision: predecessor ? 'AwaitCollection' : 'Conflict', holder: describeHolder(object, live) };
}

/** conflictMessage is Degraded's message for the children whose names others hold. */
export function conflictMessage(holders: readonly string[]): string {
  return `${holders.join('; ')} already exists and is not this endpoint's: the operator changes none of the endpoint's children while it does. Rename the endpoint or remove the object.`;
}

/**
 * appliedManagedFields turns the field manager's `Update` entry that a create (POST) leaves into
 * an `Apply` entry, so later server-side applies own, and so can remove, what the create set:
 * fields owned by an Update entry stay when an apply drops them (the same upgrade kubectl does
 * from client-side to server-side apply). Other managers' entries are kept as they are.
 */
export function appliedManagedFields(entries: readonly V1ManagedFieldsEntry[] | undefined, manager: string): V1ManagedFieldsEntry[] {
  return (entries ?? []).map((e) => {
    if (e.manager !== manager || e.operation !== 'Update' || (e.subresource ?? '') !== '') return e;
    return { apiVersion: e.apiVersion, fieldsType: e.fieldsType, fieldsV1: e.fieldsV1 as object, manager: e.manager, operation: 'Apply', time: e.time };
  });
}
