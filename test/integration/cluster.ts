import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { kubeTools, type KubeTools } from '../harness/commands.ts';

/** TestCluster is what an integration test gets from the shared local control plane. */
export interface TestCluster extends KubeTools {
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
}

/** testCluster connects to the control plane the global setup started. */
export function testCluster(): TestCluster {
  const kubeconfigPath = inject('kubeconfigPath');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kubeconfigPath,
    server: inject('kubeServer'),
    kc,
    core: kc.makeApiClient(CoreV1Api),
    ...kubeTools(inject('kubeBinDir'), kubeconfigPath, inject('kubeHome')),
  };
}

/** createNamespace makes a uniquely named namespace; the returned function deletes it. */
export async function createNamespace(core: CoreV1Api, prefix: string): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return {
    name,
    remove: async () => {
      await core.deleteNamespace({ name });
    },
  };
}
