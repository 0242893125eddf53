import type { KubeConfig, KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION, KIND, PLURAL, type InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { ResourceInformer } from '../controller/informer.ts';
import type { AdmissionReads } from './handler.ts';

/** AdmissionCache is what admission reads from: informer caches of namespaces (metadata only) and InferenceEndpoints. */
export interface AdmissionCache {
  readonly reads: AdmissionReads;
  start(): void;
  waitForSync(signal?: AbortSignal): Promise<void>;
  hasSynced(): boolean;
  stop(): Promise<void>;
}

const NAMESPACES = { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false } as const;

/**
 * namespaceInformers watch every namespace, or, when the operator is limited to some, each of them
 * by name (`metadata.name` field selector): the chart then grants list and watch on those names
 * alone (RBAC honours resourceNames for a list or watch that selects one name).
 */
function namespaceInformers(kc: KubeConfig, logger: Logger, namespaces: readonly string[]): ResourceInformer<KubernetesObject>[] {
  if (namespaces.length === 0) return [new ResourceInformer({ kc, logger }, { resource: NAMESPACES, metadataOnly: true })];
  return [...new Set(namespaces)].map((name) => new ResourceInformer({ kc, logger }, { resource: NAMESPACES, metadataOnly: true, fieldSelector: `metadata.name=${name}` }));
}

/**
 * admissionCache answers admission from informers instead of a GET and a LIST per pod, so a burst
 * of pod creations costs the API server nothing and an admission does not wait on it. A namespace
 * missing from the cache (created a moment ago, its watch event not in yet) is read from the API
 * server (`live`); handler.ts confirms a refusal the cache would cause the same way.
 */
export function admissionCache(deps: { kc: KubeConfig; logger: Logger; live: AdmissionReads }, namespaces: readonly string[]): AdmissionCache {
  const logger = deps.logger.child({ component: 'webhook-cache' });
  const endpoints = new ResourceInformer<InferenceEndpoint>({ kc: deps.kc, logger }, { namespaces, resource: { apiVersion: API_VERSION, kind: KIND, plural: PLURAL, namespaced: true } });
  const spaces = namespaceInformers(deps.kc, logger, namespaces);
  const all = [endpoints, ...spaces];
  const cachedNamespace = (name: string): V1ObjectMeta | undefined => spaces.map((i) => i.get('', name)).find((n) => n !== undefined)?.metadata;
  return {
    reads: {
      readNamespace: async (name) => cachedNamespace(name) ?? deps.live.readNamespace(name),
      listEndpoints: (namespace) => Promise.resolve(endpoints.list(namespace)),
    },
    start: () => all.forEach((i) => i.start()),
    waitForSync: async (signal) => {
      await Promise.all(all.map((i) => i.waitForSync(signal)));
    },
    hasSynced: () => all.every((i) => i.hasSynced()),
    stop: async () => {
      await Promise.all(all.map((i) => i.stop()));
    },
  };
}
