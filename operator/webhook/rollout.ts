import { AppsV1Api, KubernetesObjectApi, PatchStrategy, type KubeConfig, type V1ObjectMeta, type V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { InferenceEndpoint, RolloutRecord } from '../api/v1alpha1/types.ts';
import { ANNOTATION_RELEASE_DIGEST, ANNOTATION_RESTART_ON_ATTESTATION_CHANGE, endpointName, endpointNamespace, FIELD_MANAGER } from '../resources/names.ts';
import { endpointNameFor } from './decision.ts';
import { clusterReads } from './kubernetes.ts';
import type { EventWriter } from './start.ts';

/** Workload is a Deployment or StatefulSet as far as rolling its sidecars needs. */
export interface Workload {
  readonly apiVersion: string;
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly metadata: V1ObjectMeta;
  readonly template: V1PodTemplateSpec;
}

/** SidecarRollerDeps: the reads, the one write (a pod-template annotation) and the Event writer. */
export interface SidecarRollerDeps {
  readonly listWorkloads: (namespace: string) => Promise<readonly Workload[]>;
  readonly readNamespace: (name: string) => Promise<V1ObjectMeta>;
  readonly listEndpoints: (namespace: string) => Promise<readonly InferenceEndpoint[]>;
  readonly stampRelease: (workload: Workload, digest: string) => Promise<void>;
  readonly event: EventWriter;
}

/**
 * rollSidecarWorkloads runs when an endpoint's attested release changed (the EndpointReconciler's
 * rollout record). Workloads whose pods get this endpoint's sidecar and that opted in with
 * `inference.attested.dev/restart-on-attestation-change: "true"` get the new digest in their pod
 * template (the gateway's mechanism, so the controller rolls them); the others are left alone —
 * their sidecars re-verify on their own (docs/architecture.md §1) — and one Event in the namespace names them.
 */
export async function rollSidecarWorkloads(deps: SidecarRollerDeps, endpoint: InferenceEndpoint, rollout: RolloutRecord): Promise<{ rolled: string[]; left: string[] }> {
  const digest = rollout.toDigest;
  if (digest === undefined) return { rolled: [], left: [] };
  const name = endpointName(endpoint);
  return rollOptedInWorkloads({ ...deps, stamp: (w, _annotation, value) => deps.stampRelease(w, value) }, endpoint, {
    annotation: ANNOTATION_RELEASE_DIGEST,
    value: digest,
    reason: 'SidecarReleaseChanged',
    rolled: `Endpoint ${name}'s attested release changed to ${digest}; rolling the pods so their sidecars start fresh.`,
    left: (left) => `Endpoint ${name}'s attested release changed from ${rollout.fromDigest ?? '?'} to ${digest}; the sidecars of ${left.join(', ')} re-verify on their own and are not restarted (annotate a workload with ${ANNOTATION_RESTART_ON_ATTESTATION_CHANGE}: "true" to roll it).`,
  });
}

/** OptedInRoll is one reason to roll the workloads that get an endpoint's sidecar: the pod-template annotation to set, and the Events' words. */
export interface OptedInRoll {
  readonly annotation: string;
  readonly value: string;
  readonly reason: string;
  /** rolled is the Event on each workload rolled. */
  readonly rolled: string;
  /** left is the one namespace Event naming the workloads that did not opt in. */
  readonly left: (left: readonly string[]) => string;
}

/** OptedInDeps are the reads, the one write (a pod-template annotation) and the Event writer a roll needs. */
export interface OptedInDeps {
  readonly listWorkloads: (namespace: string) => Promise<readonly Workload[]>;
  readonly readNamespace: (name: string) => Promise<V1ObjectMeta>;
  readonly listEndpoints: (namespace: string) => Promise<readonly InferenceEndpoint[]>;
  readonly stamp: (workload: Workload, annotation: string, value: string) => Promise<void>;
  readonly event: EventWriter;
}

/**
 * rollOptedInWorkloads stamps `roll.value` into the pod template of every workload whose pods get
 * this endpoint's sidecar and that opted in with `restart-on-attestation-change: "true"` (and does
 * not carry that value yet), so its controller rolls it; the others are left alone (their pods
 * belong to their owners, docs/architecture.md §1) and one Event in the namespace names them.
 */
export async function rollOptedInWorkloads(deps: OptedInDeps, endpoint: InferenceEndpoint, roll: OptedInRoll): Promise<{ rolled: string[]; left: string[] }> {
  const namespace = endpointNamespace(endpoint);
  const [meta, endpoints, workloads] = await Promise.all([deps.readNamespace(namespace), deps.listEndpoints(namespace), deps.listWorkloads(namespace)]);
  const using = workloads.filter((w) => endpointNameFor(w.template.metadata, meta, endpoints) === endpointName(endpoint));
  const rolled: string[] = [];
  const left: string[] = [];
  for (const w of using) {
    const label = `${w.kind.toLowerCase()}/${w.metadata.name ?? ''}`;
    if (w.metadata.annotations?.[ANNOTATION_RESTART_ON_ATTESTATION_CHANGE] !== 'true') {
      left.push(label);
    } else if (w.template.metadata?.annotations?.[roll.annotation] !== roll.value) {
      await deps.stamp(w, roll.annotation, roll.value);
      deps.event({ apiVersion: w.apiVersion, kind: w.kind, metadata: { name: w.metadata.name, uid: w.metadata.uid, namespace } }, 'Normal', roll.reason, roll.rolled);
      rolled.push(label);
    }
  }
  if (left.length > 0) deps.event({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, namespace } }, 'Normal', roll.reason, roll.left(left));
  return { rolled, left };
}

/** kubernetesSidecarRoller binds rollSidecarWorkloads to the API server; errors are logged, never thrown at the reconciler. */
export function kubernetesSidecarRoller(kc: KubeConfig, event: EventWriter, logger: Logger): (endpoint: InferenceEndpoint, rollout: RolloutRecord) => Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const deps: SidecarRollerDeps = {
    ...clusterReads(kc),
    async listWorkloads(namespace) {
      const [deployments, statefulSets] = await Promise.all([apps.listNamespacedDeployment({ namespace }), apps.listNamespacedStatefulSet({ namespace })]);
      return [
        ...deployments.items.map((d) => ({ apiVersion: 'apps/v1', kind: 'Deployment' as const, metadata: d.metadata ?? {}, template: d.spec?.template ?? {} })),
        ...statefulSets.items.map((s) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet' as const, metadata: s.metadata ?? {}, template: s.spec?.template ?? {} })),
      ];
    },
    async stampRelease(w, digest) {
      // A JSON merge patch of one annotation: it leaves the owner's other fields and managers alone.
      const body = { apiVersion: w.apiVersion, kind: w.kind, metadata: { name: w.metadata.name, namespace: w.metadata.namespace }, spec: { template: { metadata: { annotations: { [ANNOTATION_RELEASE_DIGEST]: digest } } } } };
      await objects.patch(body, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
    },
    event,
  };
  return async (endpoint, rollout) => {
    try {
      const { rolled, left } = await rollSidecarWorkloads(deps, endpoint, rollout);
      if (rolled.length + left.length > 0) logger.info({ endpoint: endpointName(endpoint), namespace: endpointNamespace(endpoint), rolled, left }, 'sidecar workloads after a release change');
    } catch (error) {
      logger.warn({ err: error, endpoint: endpointName(endpoint) }, 'rolling sidecar workloads failed');
    }
  };
}
