import { createHash } from 'node:crypto';
import { AppsV1Api, KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import type { ObjectSource } from '../controller/informer.ts';
import { developmentTrustAllowed, type EndpointPolicy } from '../policy/admin-policy.ts';
import type { ProxyImage } from '../resources/container.ts';
import { objectKey } from '../controller/keys.ts';
import { sidecarConfigYaml } from '../resources/desired.ts';
import { ANNOTATION_RESTART_ON_ATTESTATION_CHANGE, endpointName, endpointNamespace, FIELD_MANAGER } from '../resources/names.ts';
import { endpointReady } from './decision.ts';
import { clusterReads } from './kubernetes.ts';
import { rollOptedInWorkloads, type OptedInDeps } from './rollout.ts';
import { sidecarContainer, sidecarVolumes, type SidecarOptions } from './sidecar.ts';
import type { EventWriter } from './start.ts';

/**
 * ANNOTATION_SIDECAR_CONFIGURATION is the pod-template annotation a workload that opted in to
 * restarts gets when its endpoint's sidecar configuration changes: a new value rolls its pods,
 * as the release digest does (rollout.ts).
 */
export const ANNOTATION_SIDECAR_CONFIGURATION = 'inference.attested.dev/sidecar-configuration';

/**
 * sidecarConfigurationHash names what an injected sidecar runs with: the configuration it mounts
 * (the endpoint's sidecar ConfigMap), its container and its volumes. A running sidecar keeps what
 * it started with; the same value means its pod needs no restart.
 */
export function sidecarConfigurationHash(endpoint: InferenceEndpoint, options: SidecarOptions): string {
  const trust = options.allowDevelopmentTrust === true ? { allowDevelopmentTrust: true } : {};
  const rendered = { config: sidecarConfigYaml(endpoint, trust), container: sidecarContainer(endpoint, options), volumes: sidecarVolumes(endpoint) };
  return createHash('sha256').update(JSON.stringify(rendered)).digest('hex').slice(0, 16);
}

/** ConfigurationChange is an endpoint whose reconciled sidecar configuration is no longer the one seen before. */
export interface ConfigurationChange {
  readonly from: string;
  readonly to: string;
}

/**
 * ConfigurationTracker remembers each endpoint's sidecar configuration as last reconciled
 * (status.observedGeneration equal to its generation, so the ConfigMap holds it) and reports a
 * change once. The first sight of an endpoint records it only: an operator start or upgrade rolls
 * nobody's pods.
 */
export class ConfigurationTracker {
  readonly #seen = new Map<string, string>();
  readonly #hash: (endpoint: InferenceEndpoint) => string;

  constructor(hash: (endpoint: InferenceEndpoint) => string) {
    this.#hash = hash;
  }

  observe(endpoint: InferenceEndpoint): ConfigurationChange | undefined {
    if (!endpointReady(endpoint)) return undefined;
    const key = objectKey(endpoint);
    const to = this.#hash(endpoint);
    const from = this.#seen.get(key);
    this.#seen.set(key, to);
    return from === undefined || from === to ? undefined : { from, to };
  }

  forget(endpoint: InferenceEndpoint): void {
    this.#seen.delete(objectKey(endpoint));
  }
}

/** ConfigurationRollerDeps: the reads, the one write (a pod-template annotation) and the Event writer. */
export type ConfigurationRollerDeps = OptedInDeps;

/**
 * rollForConfiguration runs when an endpoint's sidecar configuration changed. Workloads whose pods
 * get this endpoint's sidecar and that opted in with `restart-on-attestation-change: "true"` get
 * the new configuration's hash in their pod template, so their controller rolls them; the others
 * are left alone (their pods belong to their owners, docs/architecture.md §1) and one Event in the
 * namespace names them and says their sidecars run an older configuration.
 */
export function rollForConfiguration(deps: ConfigurationRollerDeps, endpoint: InferenceEndpoint, change: ConfigurationChange): Promise<{ rolled: string[]; left: string[] }> {
  const name = endpointName(endpoint);
  return rollOptedInWorkloads(deps, endpoint, {
    annotation: ANNOTATION_SIDECAR_CONFIGURATION,
    value: change.to,
    reason: 'SidecarConfigurationChanged',
    rolled: `Endpoint ${name}'s sidecar configuration changed (${change.from} to ${change.to}); rolling the pods so their sidecars run it.`,
    left: (left) => `Endpoint ${name}'s sidecar configuration changed (${change.from} to ${change.to}); the sidecars of ${left.join(', ')} run the older configuration until their pods restart (annotate a workload with ${ANNOTATION_RESTART_ON_ATTESTATION_CHANGE}: "true" to roll it).`,
  });
}

/** kubernetesConfigurationRollerDeps binds the roller's reads and its one merge patch to the API server. */
export function kubernetesConfigurationRollerDeps(kc: KubeConfig, event: EventWriter): ConfigurationRollerDeps {
  const apps = kc.makeApiClient(AppsV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  return {
    ...clusterReads(kc),
    async listWorkloads(namespace) {
      const [deployments, statefulSets] = await Promise.all([apps.listNamespacedDeployment({ namespace }), apps.listNamespacedStatefulSet({ namespace })]);
      return [
        ...deployments.items.map((d) => ({ apiVersion: 'apps/v1', kind: 'Deployment' as const, metadata: d.metadata ?? {}, template: d.spec?.template ?? {} })),
        ...statefulSets.items.map((s) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet' as const, metadata: s.metadata ?? {}, template: s.spec?.template ?? {} })),
      ];
    },
    async stamp(w, annotation, value) {
      // A JSON merge patch of one annotation: it leaves the owner's other fields and managers alone.
      const body = { apiVersion: w.apiVersion, kind: w.kind, metadata: { name: w.metadata.name, namespace: w.metadata.namespace }, spec: { template: { metadata: { annotations: { [annotation]: value } } } } };
      await objects.patch(body, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
    },
    event,
  };
}

/**
 * watchSidecarConfiguration follows the endpoints' cache: every replica tracks what each endpoint's
 * sidecars run, and the leader (the only writer) rolls or reports a change. Failures are logged;
 * the pods keep running their configuration, which is what they would do without this.
 */
export function watchSidecarConfiguration(source: ObjectSource<InferenceEndpoint>, deps: { tracker: ConfigurationTracker; roller: ConfigurationRollerDeps; isLeader: () => boolean; logger: Logger }): void {
  const seen = (endpoint: InferenceEndpoint): void => {
    const change = deps.tracker.observe(endpoint);
    if (change === undefined || !deps.isLeader()) return;
    void rollForConfiguration(deps.roller, endpoint, change).then(
      ({ rolled, left }) => {
        if (rolled.length + left.length > 0) deps.logger.info({ endpoint: endpointName(endpoint), namespace: endpointNamespace(endpoint), rolled, left, configuration: change.to }, 'sidecar workloads after a sidecar configuration change');
      },
      (error: unknown) => deps.logger.warn({ err: error, endpoint: endpointName(endpoint) }, 'rolling sidecar workloads after a configuration change failed'),
    );
  };
  source.onAdd(seen);
  source.onUpdate(seen);
  source.onDelete((endpoint) => deps.tracker.forget(endpoint));
}

/**
 * startSidecarConfigurationRoller wires the watch for the operator: the hash is computed as the
 * webhook injects (the same image, development trust where the flag and the admin policy allow it).
 */
export function startSidecarConfigurationRoller(source: ObjectSource<InferenceEndpoint>, deps: { kc: KubeConfig; event: EventWriter; logger: Logger; isLeader: () => boolean }, settings: { image: ProxyImage; policy: EndpointPolicy }): void {
  const hash = (endpoint: InferenceEndpoint): string => sidecarConfigurationHash(endpoint, {
    image: settings.image,
    allowDevelopmentTrust: developmentTrustAllowed(settings.policy.policy, endpointNamespace(endpoint), settings.policy.allowDevelopmentTrust),
  });
  watchSidecarConfiguration(source, { tracker: new ConfigurationTracker(hash), roller: kubernetesConfigurationRollerDeps(deps.kc, deps.event), isLeader: deps.isLeader, logger: deps.logger });
}
