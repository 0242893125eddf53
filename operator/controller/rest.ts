import { ApiException, HttpMethod, RequestContext, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { fetch } from 'undici';

/** ResourceType names a kind and where it lives in the REST API. */
export interface ResourceType {
  /** apiVersion is `v1` for the core group, else `group/version`. */
  readonly apiVersion: string;
  readonly kind: string;
  /** plural is the path segment (`configmaps`), so no discovery request is needed. */
  readonly plural: string;
  readonly namespaced: boolean;
}

/** collectionPath is the REST path of `resource`'s collection, in `namespace` or across all namespaces when it is undefined. */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const root = resource.apiVersion.includes('/') ? `/apis/${resource.apiVersion}` : `/api/${resource.apiVersion}`;
  const scope = resource.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${scope}/${resource.plural}`;
}

/** ListQuery narrows a list; `limit` pages it; `metadataOnly` asks for each item's metadata alone. */
export interface ListQuery {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly metadataOnly?: boolean;
}

/**
 * The API server answers with PartialObjectMetadata (metadata alone) for these media types, as
 * client-go's metadata informers ask; a server that cannot falls back to the full objects.
 */
export const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/**
 * slim readies an object from the API server for a cache: managedFields go (often a third of an
 * object, read by nobody here), and metadata-only items get the kind they stand for.
 */
export function slim<T extends KubernetesObject>(object: T, resource: ResourceType): T {
  if (object.metadata?.managedFields !== undefined) delete object.metadata.managedFields;
  if (object.kind === 'PartialObjectMetadata') Object.assign(object, { apiVersion: resource.apiVersion, kind: resource.kind });
  return object;
}

// Pages as client-go's reflector does (500 items), so a large collection does not arrive as one huge body.
const PAGE_SIZE = 500;

/**
 * listAll reads a whole collection, page by page, as the API server's JSON: timestamps stay RFC 3339
 * strings, exactly as the watch delivers them, so an informer's cache holds one shape of object.
 * Items get their `apiVersion` and `kind`, which list responses leave out. A continue token
 * that expires mid-way surfaces as a 410 error; the informer retries with a fresh list.
 */
export async function listAll<T extends KubernetesObject>(kc: KubeConfig, resource: ResourceType, namespace: string | undefined, query: ListQuery = {}): Promise<KubernetesListObject<T>> {
  const path = collectionPath(resource, namespace);
  const items: T[] = [];
  let resourceVersion = '';
  let continueToken: string | undefined;
  do {
    const page = await listPage<T>(kc, path, query, continueToken);
    for (const item of page.items) items.push(slim({ ...item, apiVersion: resource.apiVersion, kind: resource.kind }, resource));
    // Every page of one paginated list shares the first page's snapshot resourceVersion.
    if (resourceVersion === '') resourceVersion = page.metadata?.resourceVersion ?? '';
    // Raw JSON spells it `continue`; client-node's model calls the same field `_continue`.
    const next = (page.metadata as { continue?: string } | undefined)?.continue;
    continueToken = next === undefined || next === '' ? undefined : next;
  } while (continueToken !== undefined);
  return { apiVersion: resource.apiVersion, kind: `${resource.kind}List`, metadata: { resourceVersion }, items };
}

async function listPage<T extends KubernetesObject>(kc: KubeConfig, path: string, query: ListQuery, continueToken: string | undefined): Promise<KubernetesListObject<T>> {
  const page = await getJson<Partial<KubernetesListObject<T>>>(kc, path, {
    labelSelector: query.labelSelector,
    fieldSelector: query.fieldSelector,
    limit: String(query.limit ?? PAGE_SIZE),
    continue: continueToken,
  }, query.metadataOnly === true ? ACCEPT_METADATA_LIST : 'application/json');
  // A metadata list with nothing in it leaves `items` out.
  return { ...page, items: page.items ?? [] };
}

/** getJson GETs `path` with the kubeconfig's server and credentials (as client-node's Watch does) and parses the body. */
export async function getJson<T>(kc: KubeConfig, path: string, query: Readonly<Record<string, string | undefined>>, accept = 'application/json'): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
  const context = new RequestContext(url.toString(), HttpMethod.GET);
  await kc.applySecurityAuthentication(context);
  const response = await fetch(url, {
    headers: { ...context.getHeaders(), accept },
    dispatcher: context.getDispatcher(),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new ApiException(response.status, `GET ${path} failed with ${response.status}`, text, Object.fromEntries(response.headers));
  }
  return JSON.parse(text) as T;
}
