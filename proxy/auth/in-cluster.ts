import { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node';
import { shareConnections } from './kube-connections.ts';
import type { TokenReviewClient } from './types.ts';

/**
 * inClusterTokenReview is the TokenReview client of a proxy in `serviceaccount` auth mode, from the
 * pod's own credentials. proxy/main.ts imports this module only in that mode; its named, static
 * imports let the bundler keep only the parts of the Kubernetes client a TokenReview needs (a
 * dynamic `import('@kubernetes/client-node')` would keep all of it, about 15 MB of JavaScript).
 */
export function inClusterTokenReview(): TokenReviewClient {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return shareConnections(kc).makeApiClient(AuthenticationV1Api);
}
