import type { CoreV1Event, KubernetesObject, V1Deployment, V1EndpointSlice, V1ObjectMeta } from '@kubernetes/client-node';
import type { InferenceEndpoint, InferenceEndpointStatus } from '../api/v1alpha1/types.ts';

/**
 * ClusterPort is every piece of I/O the endpoint reconciler does, so the reconcile logic is tested
 * against a real API server through one small adapter (cluster.ts) and nothing else.
 */
export interface ClusterPort {
  getEndpoint(namespace: string, name: string): Promise<InferenceEndpoint | undefined>;
  getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined>;
  /** liveMetadata reads a child's current metadata (undefined when absent); a cache may answer. */
  liveMetadata(object: KubernetesObject): Promise<V1ObjectMeta | undefined>;
  /** readMetadata reads the metadata of the object of a child's name from the API server itself, never a cache (undefined when absent). */
  readMetadata(object: KubernetesObject): Promise<V1ObjectMeta | undefined>;
  /** apply writes an object with server-side apply under the operator's field manager; returns the stored object. */
  apply(object: KubernetesObject): Promise<KubernetesObject>;
  /**
   * create creates an object (a POST: it fails with 409 AlreadyExists rather than touch an object
   * of that name) and makes the operator's apply the owner of what it set; returns the stored object.
   */
  create(object: KubernetesObject): Promise<KubernetesObject>;
  /** mountFailures lists recent FailedMount Events of the endpoint's proxy pods (kubelet reports missing Secrets there). */
  mountFailures(namespace: string, podNamePrefix: string): Promise<CoreV1Event[]>;
  /** serviceSlices lists the EndpointSlices of a Service (label kubernetes.io/service-name); a cache may answer. */
  serviceSlices(namespace: string, service: string): Promise<readonly V1EndpointSlice[]>;
  writeStatus(endpoint: InferenceEndpoint, status: InferenceEndpointStatus): Promise<void>;
  /** deleteChild deletes a child, only if it is still the object of that `uid` (a precondition), with its dependents in the background; absent is fine. */
  deleteChild(object: KubernetesObject, uid: string): Promise<void>;
  event(endpoint: InferenceEndpoint, type: 'Normal' | 'Warning', reason: string, message: string): void;
}
