import type { CoreV1Event, KubernetesObject, V1Deployment, V1ObjectMeta } from '@kubernetes/client-node';
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
  /** apply writes an object with server-side apply under the operator's field manager; returns the stored object. */
  apply(object: KubernetesObject): Promise<KubernetesObject>;
  /** mountFailures lists recent FailedMount Events of the endpoint's proxy pods (kubelet reports missing Secrets there). */
  mountFailures(namespace: string, podNamePrefix: string): Promise<CoreV1Event[]>;
  writeStatus(endpoint: InferenceEndpoint, status: InferenceEndpointStatus): Promise<void>;
  event(endpoint: InferenceEndpoint, type: 'Normal' | 'Warning', reason: string, message: string): void;
}
