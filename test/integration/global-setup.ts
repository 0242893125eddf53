import type { TestProject } from 'vitest/node';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.ts';
import type { WebhookClientFiles } from '../harness/webhook-client-auth.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfigPath: string;
    kubeServer: string;
    kubeBinDir: string;
    kubeHome: string;
    /** webhookClient: the API server authenticates to admission webhooks with this certificate (test/integration/webhook/). */
    webhookClient: WebhookClientFiles;
  }
}

/**
 * Starts one real control plane for the whole integration tier and stops it at the end; when any
 * test failed, the components' logs are kept and their folder is printed.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const controlPlane: ControlPlane = await startControlPlane({ webhookClientAuth: true, nodes: 2 });
  project.provide('kubeconfigPath', controlPlane.kubeconfigPath);
  project.provide('kubeServer', controlPlane.server);
  project.provide('kubeBinDir', controlPlane.binaries.dir);
  project.provide('kubeHome', controlPlane.workDir);
  if (controlPlane.webhookClient) project.provide('webhookClient', controlPlane.webhookClient);
  const stopOnSignal = (): void => {
    void controlPlane.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  return async () => {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    const failed = project.vitest.state.getCountOfFailedTests() > 0;
    await controlPlane.stop({ keepLogs: failed || process.env.AIO_KEEP_LOGS === '1' });
  };
}
