import { fileURLToPath } from 'node:url';
import type { E2e } from './kube.ts';
import { RELEASE, RELEASE_NAMESPACE } from './world.ts';

export const CHART = fileURLToPath(new URL('../../../charts/attested-inference-operator', import.meta.url));

function repositoryAndTag(image: string): [string, string] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, 'latest'];
}

/** LIMITS_PASSWORD is the e2e Redis's default user's password: the proxies' (the tenant's) credential. */
export const LIMITS_PASSWORD = 'e2e-limits-store-password';
/** LIMITS_OPERATOR_USER and its password are the operator's own read-only Redis user (docs/adr/0009-limits-store-credentials.md). */
export const LIMITS_OPERATOR_USER = 'aio-operator';
export const LIMITS_OPERATOR_PASSWORD = 'e2e-limits-store-operator-reads';
/** LIMITS_OPERATOR_KEY is the Secret key holding the operator's password. */
export const LIMITS_OPERATOR_KEY = 'operator-password';
export const LIMITS_SECRET = 'limits-redis';

const base64 = (text: string): string => Buffer.from(text).toString('base64');

/** limitsSecret is the Secret the Redis runs with, in `namespace`: both passwords (the proxies read `password`). */
export function limitsSecret(namespace: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: LIMITS_SECRET, namespace }, data: { password: base64(LIMITS_PASSWORD), [LIMITS_OPERATOR_KEY]: base64(LIMITS_OPERATOR_PASSWORD) } };
}

/** operatorLimitsSecret is the operator's copy, in the release namespace: its own read-only password only. */
function operatorLimitsSecret(namespace: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: LIMITS_SECRET, namespace }, data: { [LIMITS_OPERATOR_KEY]: base64(LIMITS_OPERATOR_PASSWORD) } };
}

/** BUDGET_NAMESPACE is the budgets scenario's namespace, the one the admin policy lets name its Redis. */
export const BUDGET_NAMESPACE = 'aio-e2e-budget';
/** BUDGET_LIMITS_STORE is the budgets scenario's Redis, allowed by the policy in BUDGET_NAMESPACE only. */
export const BUDGET_LIMITS_STORE = `redis://redis.${BUDGET_NAMESPACE}.svc:6379`;

/**
 * helmInstall installs the chart with the suite's images, development trust, the webhook on, the
 * budgets scenario's Redis as the operator's one limits store with its read-only user (password in
 * a Secret made first in the release namespace), and an
 * admin policy exception letting the budgets scenario's namespace name its Redis (docs/policy.md).
 */
export async function helmInstall(k: E2e): Promise<string> {
  await k.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: RELEASE_NAMESPACE } }, operatorLimitsSecret(RELEASE_NAMESPACE)]);
  const [operatorRepo, operatorTag] = repositoryAndTag(k.images.operator);
  const [proxyRepo, proxyTag] = repositoryAndTag(k.images.proxy);
  const result = await k.helm([
    'install', RELEASE, CHART, '--namespace', RELEASE_NAMESPACE, '--create-namespace', '--wait', '--timeout', '5m',
    '--set', `image.repository=${operatorRepo}`, '--set', `image.tag=${operatorTag}`, '--set', `image.pullPolicy=${k.images.pullPolicy}`,
    '--set', `proxy.image.repository=${proxyRepo}`, '--set', `proxy.image.tag=${proxyTag}`, '--set', `proxy.image.pullPolicy=${k.images.pullPolicy}`,
    '--set', 'allowDevelopmentTrust=true', '--set', 'webhook.enabled=true', '--set', 'replicaCount=2',
    '--set-json', `limitsStore.stores=${JSON.stringify([{ url: BUDGET_LIMITS_STORE, username: LIMITS_OPERATOR_USER, passwordSecret: { name: LIMITS_SECRET, key: LIMITS_OPERATOR_KEY } }])}`,
    '--set-json', `policy.namespaces=${JSON.stringify({ [BUDGET_NAMESPACE]: { limitsStores: [BUDGET_LIMITS_STORE] } })}`,
  ]);
  if (result.code !== 0) throw new Error(`helm install failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}
