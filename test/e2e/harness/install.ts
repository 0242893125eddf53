import { fileURLToPath } from 'node:url';
import type { E2e } from './kube.ts';
import { RELEASE, RELEASE_NAMESPACE } from './world.ts';

export const CHART = fileURLToPath(new URL('../../../charts/attested-inference-operator', import.meta.url));

function repositoryAndTag(image: string): [string, string] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, 'latest'];
}

/** helmInstall installs the chart with the suite's images, development trust and the webhook on. */
export async function helmInstall(k: E2e): Promise<string> {
  const [operatorRepo, operatorTag] = repositoryAndTag(k.images.operator);
  const [proxyRepo, proxyTag] = repositoryAndTag(k.images.proxy);
  const result = await k.helm([
    'install', RELEASE, CHART, '--namespace', RELEASE_NAMESPACE, '--create-namespace', '--wait', '--timeout', '5m',
    '--set', `image.repository=${operatorRepo}`, '--set', `image.tag=${operatorTag}`, '--set', `image.pullPolicy=${k.images.pullPolicy}`,
    '--set', `proxy.image.repository=${proxyRepo}`, '--set', `proxy.image.tag=${proxyTag}`, '--set', `proxy.image.pullPolicy=${k.images.pullPolicy}`,
    '--set', 'allowDevelopmentTrust=true', '--set', 'webhook.enabled=true', '--set', 'replicaCount=2',
  ]);
  if (result.code !== 0) throw new Error(`helm install failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}
