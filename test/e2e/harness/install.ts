import { fileURLToPath } from 'node:url';
import type { E2e } from './kube.ts';
import { RELEASE, RELEASE_NAMESPACE } from './world.ts';

export const CHART = fileURLToPath(new URL('../../../charts/attested-inference-operator', import.meta.url));

function repositoryAndTag(image: string): [string, string] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, 'latest'];
}

/** LIMITS_PASSWORD is the e2e Redis password: the operator reads budgets with it (a file from a Secret). */
export const LIMITS_PASSWORD = 'e2e-limits-store-password';
export const LIMITS_SECRET = 'limits-redis';

/** limitsSecret is the Secret holding the Redis password, in `namespace`. */
export function limitsSecret(namespace: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: LIMITS_SECRET, namespace }, data: { password: Buffer.from(LIMITS_PASSWORD).toString('base64') } };
}

/** BUDGET_NAMESPACE is the budgets scenario's namespace, the one the admin policy lets name its Redis. */
export const BUDGET_NAMESPACE = 'aio-e2e-budget';
/** BUDGET_LIMITS_STORE is the budgets scenario's Redis, allowed by the policy in BUDGET_NAMESPACE only. */
export const BUDGET_LIMITS_STORE = `redis://redis.${BUDGET_NAMESPACE}.svc:6379`;

/**
 * helmInstall installs the chart with the suite's images, development trust, the webhook on, the
 * limits store's password for the operator (a Secret made first in the release namespace), and an
 * admin policy exception letting the budgets scenario's namespace name its Redis (docs/policy.md).
 */
export async function helmInstall(k: E2e): Promise<string> {
  await k.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: RELEASE_NAMESPACE } }, limitsSecret(RELEASE_NAMESPACE)]);
  const [operatorRepo, operatorTag] = repositoryAndTag(k.images.operator);
  const [proxyRepo, proxyTag] = repositoryAndTag(k.images.proxy);
  const result = await k.helm([
    'install', RELEASE, CHART, '--namespace', RELEASE_NAMESPACE, '--create-namespace', '--wait', '--timeout', '5m',
    '--set', `image.repository=${operatorRepo}`, '--set', `image.tag=${operatorTag}`, '--set', `image.pullPolicy=${k.images.pullPolicy}`,
    '--set', `proxy.image.repository=${proxyRepo}`, '--set', `proxy.image.tag=${proxyTag}`, '--set', `proxy.image.pullPolicy=${k.images.pullPolicy}`,
    '--set', 'allowDevelopmentTrust=true', '--set', 'webhook.enabled=true', '--set', 'replicaCount=2',
    '--set', `limitsStore.passwordSecret.name=${LIMITS_SECRET}`,
    '--set-json', `policy.namespaces=${JSON.stringify({ [BUDGET_NAMESPACE]: { limitsStores: [BUDGET_LIMITS_STORE] } })}`,
  ]);
  if (result.code !== 0) throw new Error(`helm install failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}
