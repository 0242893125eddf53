import type { KubernetesObject } from '@kubernetes/client-node';
import type { Condition, InferenceEndpoint, InferenceEndpointStatus } from '../api/v1alpha1/types.ts';
import { isConflict } from '../controller/api-errors.ts';
import type { PolicyViolation } from '../policy/admin-policy.ts';
import { childNames, endpointName, endpointNamespace } from '../resources/names.ts';
import { controlledBy } from './ownership.ts';
import type { ClusterPort } from './port.ts';
import { condition, selectorString, withTransitionTimes } from './status.ts';

/** attestedWhenRefused says what is known of the upstream of an endpoint nothing runs for: it is not verified. */
function attestedWhenRefused(endpoint: InferenceEndpoint, violations: readonly PolicyViolation[], generation: number): Omit<Condition, 'lastTransitionTime'> {
  const development = violations.find((v) => v.rule === 'developmentTrust');
  if (development) return condition('DevelopmentTrustDisabled', generation, `${development.message}; no proxy runs for the endpoint.`);
  if (endpoint.spec.provider === 'openai-compatible') return condition('Unattested', generation);
  return condition('Pending', generation, 'Not verified: the admin policy refuses the endpoint, so no proxy runs and the operator does not verify its upstream.');
}

/**
 * refusedStatus is the status of an endpoint the admin policy refuses: no proxy runs (the
 * operator rendered nothing), Degraded PolicyViolation with every refusal, each naming the field and
 * the policy. Pure; the Event comes with the status write, on the transition.
 */
export function refusedStatus(endpoint: InferenceEndpoint, violations: readonly PolicyViolation[], now: Date): InferenceEndpointStatus {
  const generation = endpoint.metadata.generation ?? 0;
  const conditions = withTransitionTimes([
    condition('NoProxy', generation),
    condition('RefusedByPolicy', generation),
    attestedWhenRefused(endpoint, violations, generation),
    condition('NothingToRoll', generation),
    condition('PolicyViolation', generation, `${violations.map((v) => v.message).join('; ')}.`),
  ], endpoint.status?.conditions, now);
  return { observedGeneration: generation, conditions, readyReplicas: 0, replicas: 0, selector: selectorString(endpoint) };
}

/**
 * childHeaders are the kind and name of every child an endpoint can own, so the children of an
 * endpoint that became refused are found without rendering anything for it.
 */
export function childHeaders(endpoint: InferenceEndpoint, serviceMonitor: boolean): KubernetesObject[] {
  const names = childNames(endpointName(endpoint));
  const header = (apiVersion: string, kind: string, name: string): KubernetesObject => ({ apiVersion, kind, metadata: { name, namespace: endpointNamespace(endpoint) } });
  return [
    header('apps/v1', 'Deployment', names.deployment),
    header('v1', 'ConfigMap', names.configMap),
    header('v1', 'ConfigMap', names.sidecarConfigMap),
    header('v1', 'Service', names.service),
    header('v1', 'ServiceAccount', names.serviceAccount),
    header('rbac.authorization.k8s.io/v1', 'RoleBinding', names.roleBinding),
    header('policy/v1', 'PodDisruptionBudget', names.podDisruptionBudget),
    header('networking.k8s.io/v1', 'NetworkPolicy', names.networkPolicy),
    ...(serviceMonitor ? [header('monitoring.coreos.com/v1', 'ServiceMonitor', names.serviceMonitor)] : []),
  ];
}

/**
 * removeChildren deletes the children an endpoint controller-owns, for an endpoint the policy now
 * refuses (the policy was tightened, or the spec was edited where no admission policy stopped it):
 * what they run or trust is what the policy refuses. Only objects whose owner reference names this
 * endpoint are touched, each deleted on the precondition of the uid seen. It returns what it deleted
 * and what it failed to delete (e.g. without the RBAC right to delete), so the refusal's status is
 * written either way.
 */
export async function removeChildren(port: ClusterPort, endpoint: InferenceEndpoint, serviceMonitor: boolean): Promise<{ removed: string[]; failed: string[] }> {
  const failed: string[] = [];
  const removed = await Promise.all(childHeaders(endpoint, serviceMonitor).map(async (header) => {
    const live = await port.liveMetadata(header).catch(() => undefined);
    if (!controlledBy(live, endpoint) || live?.uid === undefined) return [];
    try {
      await port.deleteChild(header, live.uid);
    } catch (error) {
      // A conflict is a failed uid precondition: the object was replaced by one this endpoint does not own.
      if (!isConflict(error)) failed.push(`${String(header.kind)}/${String(header.metadata?.name)}: ${(error as Error).message}`);
      return [];
    }
    return [`${String(header.kind)}/${String(header.metadata?.name)}`];
  }));
  return { removed: removed.flat(), failed };
}
