import { Watch, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { rolloutSettled } from '../../../operator/reconcile/status.ts';
import { ANNOTATION_RELEASE_DIGEST } from '../../../operator/resources/names.ts';

/** DeploymentWatch follows a namespace's Deployments from outside the operator, as `kubectl get -w` would. */
export interface DeploymentWatch {
  /** rollingPeak is the most Deployments seen rolling to `digest` at the same time (stamped with it, not rolled out). */
  rollingPeak(): number;
  /** stampedWith counts the Deployments whose pod template carries `digest`. */
  stampedWith(digest: string): number;
  stop(): void;
}

/**
 * watchDeployments watches every Deployment of `namespace` and, on each event, counts those rolling
 * to `digest()`: stamped with it and not yet rolled out (the Deployment controller has not seen
 * the template, or not every replica is updated and available). The peak is the pacing observed.
 */
export async function watchDeployments(kc: KubeConfig, namespace: string, digest: () => string | undefined): Promise<DeploymentWatch> {
  const deployments = new Map<string, V1Deployment>();
  let peak = 0;
  const stamp = (d: V1Deployment): string | undefined => d.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST];
  const rolling = (): number => {
    const target = digest();
    if (target === undefined) return 0;
    return [...deployments.values()].filter((d) => stamp(d) === target && !rolloutSettled(d, d.spec?.replicas ?? 1)).length;
  };
  const controller = await new Watch(kc).watch(`/apis/apps/v1/namespaces/${namespace}/deployments`, {}, (phase: string, object: V1Deployment) => {
    const name = object.metadata?.name ?? '';
    if (phase === 'DELETED') deployments.delete(name);
    else deployments.set(name, object);
    peak = Math.max(peak, rolling());
  }, () => undefined);
  return {
    rollingPeak: () => peak,
    stampedWith: (d) => [...deployments.values()].filter((x) => stamp(x) === d).length,
    stop: () => controller.abort(),
  };
}
