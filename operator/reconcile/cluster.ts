import { setTimeout } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubernetesObjectApi, PatchStrategy, type CoreV1Event, type KubeConfig, type KubernetesObject, type V1ObjectMeta } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type InferenceEndpoint, type InferenceEndpointStatus } from '../api/v1alpha1/types.ts';
import { isConflict, isNotFound } from '../controller/api-errors.ts';
import { FIELD_MANAGER } from '../resources/names.ts';
import { appliedManagedFields } from './ownership.ts';
import type { ClusterPort } from './port.ts';
import { SERVICE_NAME_LABEL } from './routing.ts';

/** EventSink records Events about endpoints (the controller runtime's aggregating recorder fits). */
export type EventSink = (endpoint: InferenceEndpoint, type: 'Normal' | 'Warning', reason: string, message: string) => void;

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** ObjectHeader is what names an object in a request: its kind and namespace/name. */
interface ObjectHeader {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
}

function header(object: KubernetesObject): ObjectHeader {
  return { apiVersion: object.apiVersion ?? '', kind: object.kind ?? '', metadata: { name: object.metadata?.name ?? '', namespace: object.metadata?.namespace ?? '' } };
}

async function readMetadata(objects: KubernetesObjectApi, object: KubernetesObject): Promise<V1ObjectMeta | undefined> {
  return (await orUndefined(objects.read(header(object))))?.metadata;
}

/**
 * ownByApply hands what a create set to the operator's apply (ownership.ts appliedManagedFields)
 * with a merge patch of managedFields alone. The created UID is a precondition (an object
 * recreated under the name meanwhile is refused: uid is immutable) and so is the resourceVersion,
 * so no other manager's entry written meanwhile is lost; on that conflict it reads and tries again,
 * a little later each time. Controllers write a new object's status within its first seconds (a
 * Deployment's several times), so conflicts are expected under load. When they outlast the tries,
 * the created object is returned as it is: it is the endpoint's already, later applies keep it
 * current, and failing the reconcile would not bring the patch back (the next one applies).
 */
async function ownByApply(objects: KubernetesObjectApi, created: KubernetesObject, attempts = 8): Promise<KubernetesObject> {
  const uid = created.metadata?.uid;
  let current = created;
  for (let attempt = 1; ; attempt += 1) {
    const { resourceVersion, managedFields } = current.metadata ?? {};
    const { apiVersion, kind, metadata } = header(created);
    const patch = { apiVersion, kind, metadata: { ...metadata, uid, resourceVersion, managedFields: appliedManagedFields(managedFields, FIELD_MANAGER) } };
    try {
      return await objects.patch(patch, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
    } catch (error) {
      if (!isConflict(error)) throw error;
      if (attempt >= attempts) return current;
      await setTimeout(25 * attempt);
      current = await objects.read(header(created));
    }
  }
}

/** kubernetesPort is the ClusterPort backed by the API server through client-node. */
export function kubernetesPort(kc: KubeConfig, events: EventSink): ClusterPort {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const base = { group: GROUP, version: VERSION, plural: PLURAL };
  return {
    getEndpoint: (namespace, name) => orUndefined(custom.getNamespacedCustomObject({ ...base, namespace, name }) as Promise<InferenceEndpoint>),
    getDeployment: (namespace, name) => orUndefined(apps.readNamespacedDeployment({ namespace, name })),
    liveMetadata: (object) => readMetadata(objects, object),
    readMetadata: (object) => readMetadata(objects, object),
    apply: (object) => objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    create: async (object) => ownByApply(objects, await objects.create(object, undefined, undefined, FIELD_MANAGER)),
    async mountFailures(namespace: string, podNamePrefix: string): Promise<CoreV1Event[]> {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=Pod,reason=FailedMount' });
      return list.items.filter((e) => e.involvedObject.name?.startsWith(podNamePrefix) === true);
    },
    async serviceSlices(namespace: string, service: string) {
      return (await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `${SERVICE_NAME_LABEL}=${service}` })).items;
    },
    async writeStatus(endpoint: InferenceEndpoint, status: InferenceEndpointStatus): Promise<void> {
      // A PUT with the read resourceVersion: if the endpoint changed meanwhile, the conflict makes
      // the controller retry with the newer object instead of writing a stale status.
      await custom.replaceNamespacedCustomObjectStatus({
        ...base,
        namespace: endpoint.metadata.namespace ?? '',
        name: endpoint.metadata.name ?? '',
        body: { ...endpoint, status },
      });
    },
    async deleteChild(object: KubernetesObject, uid: string): Promise<void> {
      await orUndefined(objects.delete(object, undefined, undefined, undefined, undefined, 'Background', { preconditions: { uid } }));
    },
    event: events,
  };
}
