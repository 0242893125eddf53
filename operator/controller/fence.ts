import type { KubeConfig } from '@kubernetes/client-node';

/** WriteFence says whether this replica may write to the cluster now (the leader's lease is fresh). */
export interface WriteFence {
  mayWrite(): boolean;
}

/** ALWAYS_OPEN is the fence of a replica without leader election: it always leads. */
export const ALWAYS_OPEN: WriteFence = Object.freeze({ mayWrite: () => true });

/** NotLeading is the error a fenced write fails with; the reconcile is retried by whoever leads. */
export class NotLeading extends Error {
  constructor(what: string) {
    super(`refused to ${what}: this replica does not hold a fresh leader lease`);
    this.name = 'NotLeading';
  }
}

/** READ_METHODS pass the fence: reads cannot conflict with another leader's writes. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** RequestContextLike is the part of client-node's RequestContext the fence reads. */
interface RequestContextLike {
  getHttpMethod(): string;
  getUrl(): string;
}

/**
 * fencedKubeConfig is `kc` for the controllers' writes: every request that is not a read is
 * refused (NotLeading) unless `fence` allows it at the moment the request is built, right before
 * it is sent. It hooks KubeConfig.applySecurityAuthentication, which every generated API client
 * and KubernetesObjectApi call per request, so no write path (server-side apply, create, status,
 * delete, Events, sidecar patches) can skip it. The lease itself and the webhook, which serve
 * every replica, use the unfenced `kc`. The returned object delegates everything else to `kc`.
 */
export function fencedKubeConfig(kc: KubeConfig, fence: WriteFence): KubeConfig {
  const fenced = Object.create(kc) as KubeConfig;
  const authenticate = kc.applySecurityAuthentication.bind(kc);
  fenced.applySecurityAuthentication = async (context: Parameters<KubeConfig['applySecurityAuthentication']>[0]): Promise<void> => {
    const request = context as unknown as RequestContextLike;
    const method = request.getHttpMethod().toUpperCase();
    if (!READ_METHODS.has(method) && !fence.mayWrite()) throw new NotLeading(`${method} ${new URL(request.getUrl()).pathname}`);
    await authenticate(context);
  };
  return fenced;
}
