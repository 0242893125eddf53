import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiException, AuthenticationV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { createAuthenticator } from '../../../proxy/auth/create.ts';
import type { AuthLogger, CallerAuthenticator, TokenReviewClient } from '../../../proxy/auth/types.ts';
import { ProxyError } from '../../../proxy/errors.ts';
import { tokenKubeconfig } from '../../harness/kubeconfig.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';

const AUDIENCE = 'inference.attested.dev/sa-auth-test';

/** countingReviewer forwards to the API server and counts the TokenReviews it sends. */
function countingReviewer(api: AuthenticationV1Api): TokenReviewClient & { calls: number } {
  const reviewer = {
    calls: 0,
    createTokenReview: (param: Parameters<TokenReviewClient['createTokenReview']>[0]) => {
      reviewer.calls++;
      return api.createTokenReview(param);
    },
  };
  return reviewer;
}

async function refusal(auth: CallerAuthenticator, token: string): Promise<ProxyError> {
  const error: unknown = await auth.authenticate({ authorization: `Bearer ${token}` }).then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  if (!(error instanceof ProxyError)) throw error;
  return error;
}

describe('ServiceAccount authentication with TokenReview on the real API server', () => {
  const cluster = testCluster();
  const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
  const warnings: string[] = [];
  const logger: AuthLogger = { info: () => undefined, warn: (_fields, message) => warnings.push(message) };
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  let clusterRole: string;
  let reviewer: ReturnType<typeof countingReviewer>;
  let auth: CallerAuthenticator;

  const mint = async (name: string, audiences: string[]): Promise<string> => {
    const request = await cluster.core.createNamespacedServiceAccountToken({
      name,
      namespace: ns.name,
      body: { spec: { audiences, expirationSeconds: 600 } },
    });
    return request.status!.token!;
  };

  /** proxyClient is the proxy's own identity: a ServiceAccount allowed `create tokenreviews` and nothing else (docs/architecture.md §5). */
  const proxyClient = async (): Promise<AuthenticationV1Api> => {
    await cluster.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'proxy' } } });
    await rbac.createClusterRole({
      body: { metadata: { name: clusterRole }, rules: [{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }] },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: clusterRole },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
        subjects: [{ kind: 'ServiceAccount', name: 'proxy', namespace: ns.name }],
      },
    });
    const caPem = Buffer.from(cluster.kc.getCurrentCluster()!.caData!, 'base64').toString();
    const kc = new KubeConfig();
    kc.loadFromString(tokenKubeconfig({ server: cluster.server, caPem, token: await mint('proxy', []) }));
    return kc.makeApiClient(AuthenticationV1Api);
  };

  beforeAll(async () => {
    ns = await createNamespace(cluster.core, 'sa-auth');
    clusterRole = `sa-auth-tokenreview-${ns.name}`;
    await cluster.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'chat-client' } } });
    const api = await proxyClient();
    const probe = { spec: { token: 'probe' } };
    await waitFor('the TokenReview binding to take effect', async () => {
      try {
        await api.createTokenReview({ body: probe });
        return true;
      } catch (error) {
        if (error instanceof ApiException && error.code === 403) return false;
        throw error;
      }
    }, { timeoutMs: 10_000 });
    reviewer = countingReviewer(api);
    auth = await createAuthenticator(
      { mode: 'serviceaccount', audiences: [AUDIENCE], tokenReviewCacheSeconds: 60, allowedServiceAccounts: [] },
      { now: Date.now, logger, tokenReview: reviewer },
    );
  });
  afterAll(async () => {
    await rbac.deleteClusterRoleBinding({ name: clusterRole }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: clusterRole }).catch(() => undefined);
    await ns.remove();
  });

  it('accepts a token for our audience, labels it, and serves the next request from the cache', async () => {
    const token = await mint('chat-client', [AUDIENCE]);
    const before = reviewer.calls;
    expect(await auth.authenticate({ authorization: `Bearer ${token}` })).toEqual({
      kind: 'serviceaccount',
      label: `serviceaccount:${ns.name}/chat-client`,
      namespace: ns.name,
    });
    expect(reviewer.calls).toBe(before + 1);
    expect((await auth.authenticate({ 'x-api-key': token })).label).toBe(`serviceaccount:${ns.name}/chat-client`);
    expect(reviewer.calls).toBe(before + 1);
  });

  it('refuses a token issued for another audience, or for the API server itself', async () => {
    for (const audiences of [['other.example'], []]) {
      const before = reviewer.calls;
      const error = await refusal(auth, await mint('chat-client', audiences));
      expect(error.code).toBe('invalid_api_key');
      expect(error.message).toContain(AUDIENCE);
      expect(reviewer.calls).toBe(before + 1); // the API server decided, not a local shortcut
    }
  });

  it('refuses garbage and a forged signature', async () => {
    expect((await refusal(auth, 'garbage')).code).toBe('invalid_api_key');
    const [header, payload] = (await mint('chat-client', [AUDIENCE])).split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    const before = reviewer.calls;
    expect((await refusal(auth, forged)).code).toBe('invalid_api_key');
    expect(reviewer.calls).toBe(before + 1);
    expect(warnings).toEqual([]); // refusals are not API failures
  });

  it('with allowedServiceAccounts, refuses a genuine token of an unlisted ServiceAccount with 403 permission_denied', async () => {
    await cluster.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'stranger' } } });
    const restricted = await createAuthenticator(
      { mode: 'serviceaccount', audiences: [AUDIENCE], tokenReviewCacheSeconds: 60, allowedServiceAccounts: [`${ns.name}/chat-client`] },
      { now: Date.now, logger, tokenReview: reviewer },
    );
    expect((await restricted.authenticate({ authorization: `Bearer ${await mint('chat-client', [AUDIENCE])}` })).label).toBe(`serviceaccount:${ns.name}/chat-client`);
    const error = await refusal(restricted, await mint('stranger', [AUDIENCE]));
    expect(error).toMatchObject({ code: 'permission_denied', status: 403 });
    expect(error.message).toBe(`The ServiceAccount ${ns.name}/stranger is not allowed to use this endpoint.`);
    const wholeNamespace = await createAuthenticator(
      { mode: 'serviceaccount', audiences: [AUDIENCE], tokenReviewCacheSeconds: 60, allowedServiceAccounts: [`${ns.name}/*`] },
      { now: Date.now, logger, tokenReview: reviewer },
    );
    expect((await wholeNamespace.authenticate({ authorization: `Bearer ${await mint('stranger', [AUDIENCE])}` })).label).toBe(`serviceaccount:${ns.name}/stranger`);
  });
});
