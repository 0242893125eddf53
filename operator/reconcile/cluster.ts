import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, type CoreV1Event, type KubeConfig, type KubernetesObject, type V1ObjectMeta } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type InferenceEndpoint, type InferenceEndpointStatus } from '../api/v1alpha1/types.ts';
import { isNotFound } from '../controller/api-errors.ts';
import { FIELD_MANAGER } from '../resources/names.ts';
import type { ClusterPort } from './port.ts';

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

/** kubernetesPort is the ClusterPort backed by the API server through client-node. */
export function kubernetesPort(kc: KubeConfig, events: EventSink): ClusterPort {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const base = { group: GROUP, version: VERSION, plural: PLURAL };
  return {
    getEndpoint: (namespace, name) => orUndefined(custom.getNamespacedCustomObject({ ...base, namespace, name }) as Promise<InferenceEndpoint>),
    getDeployment: (namespace, name) => orUndefined(apps.readNamespacedDeployment({ namespace, name })),
    async liveMetadata(object: KubernetesObject): Promise<V1ObjectMeta | undefined> {
      const header = { apiVersion: object.apiVersion ?? '', kind: object.kind ?? '', metadata: { name: object.metadata?.name ?? '', namespace: object.metadata?.namespace ?? '' } };
      return (await orUndefined(objects.read(header)))?.metadata;
    },
    apply: (object) => objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    async mountFailures(namespace: string, podNamePrefix: string): Promise<CoreV1Event[]> {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=Pod,reason=FailedMount' });
      return list.items.filter((e) => e.involvedObject.name?.startsWith(podNamePrefix) === true);
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
    event: events,
  };
}
