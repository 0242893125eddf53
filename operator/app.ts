import { CoordinationV1Api, EventsV1Api, KubeConfig, type KubernetesObject, type V1EndpointSlice } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { API_VERSION, KIND, PLURAL, type InferenceEndpoint, type RolloutRecord } from './api/v1alpha1/types.ts';
import { AttestationWatcher } from './attestation/watcher.ts';
import type { OperatorOptions } from './config.ts';
import { Controller, related, type RelatedWatch } from './controller/controller.ts';
import { EventRecorder, kubernetesEventSink } from './controller/events.ts';
import { createRedisSpendReader } from './limits/spend-reader.ts';
import { loadLimitsStores } from './limits/store-config.ts';
import { shareConnections } from '../proxy/auth/kube-connections.ts';
import { ResourceInformer, type ResourceType } from './controller/informer.ts';
import { labelMapper, ownerMapper } from './controller/keys.ts';
import { LeaderElector } from './controller/leader-election.ts';
import { kubernetesLeaseStore } from './controller/lease-store.ts';
import { Manager } from './controller/manager.ts';
import { ALWAYS_OPEN, fencedKubeConfig } from './controller/fence.ts';
import { DEFAULT_TURN_TIMEOUT_MS, RolloutPacer } from './controller/rollout-pacer.ts';
import { createControllerMetrics } from './controller/metrics.ts';
import { startProbeServer, type ProbeServer } from './controller/probes.ts';
import { kubernetesPort } from './reconcile/cluster.ts';
import { registerConditionMetric } from './reconcile/condition-metrics.ts';
import { watchServiceMonitorSupport } from './reconcile/discovery.ts';
import { EndpointReconciler, type EndpointReconcilerDeps } from './reconcile/endpoint.ts';
import type { ClusterPort } from './reconcile/port.ts';
import { LABEL_ENDPOINT, LABEL_MANAGED_BY, MANAGED_BY } from './resources/names.ts';
import { SERVICE_NAME_LABEL } from './reconcile/routing.ts';
import { startSidecarConfigurationRoller } from './webhook/configuration-rollout.ts';
import { kubernetesSidecarRoller } from './webhook/rollout.ts';
import { startWebhook, type RunningWebhook } from './webhook/start.ts';
import { tcpRouteProbe } from './controller/route-probe.ts';

/** RunningOperator is a started operator: its probe server and how to stop it. */
export interface RunningOperator {
  readonly probes: ProbeServer;
  readonly manager: Manager;
  readonly registry: Registry;
  readonly webhook?: RunningWebhook;
  stop(): Promise<void>;
}

function operatorMetrics(registry: Registry): { rollouts: Counter<'reason'>; verifications: Counter<'result'>; upstreams: Gauge } {
  return {
    rollouts: new Counter({ name: 'attested_inference_operator_rollouts_total', help: 'Proxy rollouts started because the attested release changed.', labelNames: ['reason'], registers: [registry] }),
    verifications: new Counter({ name: 'attested_inference_operator_attestation_verifications_total', help: "The operator's own verifications of upstreams, by result.", labelNames: ['result'], registers: [registry] }),
    upstreams: new Gauge({ name: 'attested_inference_operator_upstreams', help: 'Distinct upstreams the operator verifies.', registers: [registry] }),
  };
}

/**
 * cachedPort reads endpoints and Deployments from the informers' caches instead of the API
 * server, and children's metadata from the caches of their kinds (a kind without one, such as
 * the optional ServiceMonitor, is read from the API server).
 */
function cachedPort(port: ClusterPort, parts: Parts): ClusterPort {
  const kindOf = (o: { apiVersion?: string; kind?: string }): string => `${o.apiVersion ?? ''}/${o.kind ?? ''}`;
  const byKind = new Map([parts.deployments, ...parts.children].map((informer) => [kindOf(informer.resource), informer]));
  return {
    ...port,
    getEndpoint: (namespace, name) => Promise.resolve(parts.endpoints.get(namespace, name)),
    getDeployment: (namespace, name) => Promise.resolve(parts.deployments.get(namespace, name) ?? undefined),
    serviceSlices: (namespace, service) => Promise.resolve(parts.slices.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === service)),
    liveMetadata: (object) => {
      const informer = byKind.get(kindOf(object));
      if (informer === undefined) return port.liveMetadata(object);
      return Promise.resolve(informer.get(object.metadata?.namespace ?? '', object.metadata?.name ?? '')?.metadata);
    },
  };
}

interface Parts {
  readonly endpoints: ResourceInformer<InferenceEndpoint>;
  readonly deployments: ResourceInformer<KubernetesObject>;
  /** children are the other kinds an endpoint owns, cached as metadata alone. */
  readonly children: readonly ResourceInformer<KubernetesObject>[];
  /**
   * slices are the EndpointSlices of the endpoints' Services, for Available's routability check:
   * the EndpointSlice controller copies the Service's labels onto them, so the operator's label
   * selects them (list and watch only, docs/status.md).
   */
  readonly slices: ResourceInformer<V1EndpointSlice>;
}

/** CHILD_KINDS are the kinds of an endpoint's children besides its Deployment (operator/resources/desired.ts). */
const CHILD_KINDS: readonly ResourceType[] = [
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
];

function informers(kc: KubeConfig, logger: Logger, namespaces: readonly string[]): Parts {
  const managed = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
  return {
    endpoints: new ResourceInformer<InferenceEndpoint>({ kc, logger }, { namespaces, resource: { apiVersion: API_VERSION, kind: KIND, plural: PLURAL, namespaced: true } }),
    deployments: new ResourceInformer<KubernetesObject>({ kc, logger }, {
      namespaces,
      resource: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
      labelSelector: managed,
    }),
    children: CHILD_KINDS.map((resource) => new ResourceInformer<KubernetesObject>({ kc, logger }, { namespaces, resource, labelSelector: managed, metadataOnly: true })),
    slices: new ResourceInformer<V1EndpointSlice>({ kc, logger }, { namespaces, resource: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true }, labelSelector: managed }),
  };
}

/**
 * relatedWatches bring an endpoint back when one of its children changes (someone edited or
 * deleted it: drift correction) and when its Service's EndpointSlices change (Available). A slice
 * is the Service's, not the endpoint's: the endpoint label it copied from the Service names it.
 */
function relatedWatches(parts: Parts, reconciler: EndpointReconciler): RelatedWatch[] {
  const owned = [parts.deployments, ...parts.children].map((source) => related(source, ownerMapper({ apiVersion: API_VERSION, kind: KIND }), (o) => reconciler.isOwnWrite(o)));
  return [...owned, related(parts.slices, labelMapper(LABEL_ENDPOINT))];
}

function loadKubeConfig(options: OperatorOptions): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  return shareConnections(kc);
}

/** attestationWatcher verifies upstreams, counts verifications and requeues endpoints whose upstream changed. */
function attestationWatcher(options: OperatorOptions, own: ReturnType<typeof operatorMetrics>, logger: Logger, requeue: { to?: (key: string) => void }): AttestationWatcher {
  return new AttestationWatcher({
    allowDevelopmentTrust: options.allowDevelopmentTrust,
    onUpdate: (keys) => keys.forEach((key) => requeue.to?.(key)),
    onVerification: (upstream, observation) => {
      own.verifications.inc({ result: observation.status === 'verified' ? 'success' : 'failure' });
      if (observation.status === 'failed') logger.warn({ upstream, step: observation.step, reason: observation.message }, 'upstream attestation failed');
    },
  });
}

/**
 * rolloutHook runs when the reconciler rolls an endpoint's proxy pods: it counts the rollout and,
 * when sidecar injection is on, rolls injected workloads that opted in (operator/webhook/rollout.ts;
 * it logs its own failures). Without injection there are no sidecars, and the chart grants the
 * roller's reads and patches only with the webhook.
 */
function rolloutHook(kc: KubeConfig, deps: { recorder: EventRecorder; logger: Logger; rollouts: Counter<'reason'> }, injection: boolean): (endpoint: InferenceEndpoint, rollout: RolloutRecord) => void {
  const rollSidecars = injection ? kubernetesSidecarRoller(kc, (object, type, reason, message) => deps.recorder.event(object, type, reason, message), deps.logger) : undefined;
  return (endpoint, rollout) => {
    deps.rollouts.inc({ reason: rollout.reason });
    if (rollSidecars) void rollSidecars(endpoint, rollout);
  };
}

/**
 * startInjection starts the sidecar-injection webhook when it is configured. It runs on every
 * replica, leader or not: admission must not wait for an election. The roller of workloads whose
 * sidecar configuration changed writes only on the leader.
 */
async function startInjection(options: OperatorOptions, deps: { kc: KubeConfig; logger: Logger; registry: Registry; recorder: EventRecorder; endpoints: ResourceInformer<InferenceEndpoint>; leader: { isLeader: () => boolean; writer: KubeConfig; events: EventRecorder } }): Promise<RunningWebhook | undefined> {
  if (!options.webhook) {
    deps.logger.info('sidecar injection webhook off (no --webhook-service-name or --webhook-url)');
    return undefined;
  }
  const event = (object: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): void => deps.recorder.event(object, type, reason, message);
  const image = { image: options.proxyImage, pullPolicy: options.proxyImagePullPolicy };
  const policy = { policy: options.policy, proxyImage: options.proxyImage, allowDevelopmentTrust: options.allowDevelopmentTrust };
  // Injected sidecars keep the configuration they started with: the leader rolls workloads that opted in when it changes.
  // Its patches and Events are the leader's, so they go through the fence (ADR 0015).
  const leaderEvent = (object: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): void => deps.leader.events.event(object, type, reason, message);
  startSidecarConfigurationRoller(deps.endpoints, { kc: deps.leader.writer, logger: deps.logger, isLeader: deps.leader.isLeader, event: leaderEvent }, { image, policy });
  return startWebhook({ kc: deps.kc, logger: deps.logger, registry: deps.registry, event }, { ...options.webhook, namespaces: options.namespaces, image, policy });
}

/** reconcilerSettings are the operator-level settings of the endpoint reconciler: rendering options and the admin policy. */
function reconcilerSettings(options: OperatorOptions): Pick<EndpointReconcilerDeps, 'options' | 'policy' | 'routeProbe'> {
  return {
    ...(options.probeServiceRoutes ? { routeProbe: tcpRouteProbe } : {}),
    options: { image: { image: options.proxyImage, pullPolicy: options.proxyImagePullPolicy, pullSecrets: options.proxyImagePullSecrets, ...(options.privatemodeProxyImage ? { privatemodeProxyImage: options.privatemodeProxyImage } : {}) }, tokenReviewClusterRole: options.tokenReviewClusterRole, apiServerPorts: options.apiServerPorts, allowDevelopmentTrust: options.allowDevelopmentTrust, serviceMonitorSettings: options.serviceMonitor },
    policy: options.policy,
  };
}

/**
 * fencedWriters are the leader elector and the controllers' kubeconfig and Event recorder: every write goes through the
 * leader fence (docs/adr/0015-leader-fencing-and-rollout-pacing.md), so a replica whose lease is
 * not fresh writes nothing, buffered Events included. The lease and the webhook use `kc`.
 */
function fencedWriters(options: OperatorOptions, kc: KubeConfig, logger: Logger): { elector?: LeaderElector; writer: KubeConfig; leaderEvents: EventRecorder } {
  const elector = leaderElector(options, kc, logger);
  const writer = fencedKubeConfig(kc, elector ? { mayWrite: () => elector.holdsLease() } : ALWAYS_OPEN);
  const leaderEvents = new EventRecorder({ sink: kubernetesEventSink(writer.makeApiClient(EventsV1Api)), logger }, { reportingController: 'attested-inference-operator', reportingInstance: options.identity });
  return { ...(elector ? { elector } : {}), writer, leaderEvents };
}

/** rolloutPacer paces each upstream's rollouts (--max-concurrent-rollouts); a freed turn requeues the endpoints waiting for one. */
function rolloutPacer(options: OperatorOptions, requeue: { to?: (key: string) => void }): RolloutPacer {
  return new RolloutPacer({ now: () => Date.now(), onTurnFreed: (keys) => keys.forEach((key) => requeue.to?.(key)) }, { maxConcurrent: options.maxConcurrentRollouts, turnTimeoutMs: DEFAULT_TURN_TIMEOUT_MS });
}

/** leaderElector campaigns for the operator's Lease with the unfenced kubeconfig, when leader election is on. */
function leaderElector(options: OperatorOptions, kc: KubeConfig, logger: Logger): LeaderElector | undefined {
  if (!options.leaderElection) return undefined;
  return new LeaderElector({ store: kubernetesLeaseStore(kc.makeApiClient(CoordinationV1Api), { namespace: options.leaseNamespace, name: options.leaseName }), logger }, { identity: options.identity });
}

/**
 * startOperator wires the operator: informers on InferenceEndpoints and on the children it
 * manages (Deployments whole, the other kinds as metadata), one controller, the attestation
 * watcher that requeues endpoints when their upstream changes, leader election, Events, metrics
 * and probes.
 */
export async function startOperator(options: OperatorOptions, logger: Logger): Promise<RunningOperator> {
  const kc = loadKubeConfig(options);
  const registry = new Registry();
  const metrics = createControllerMetrics(registry);
  const own = operatorMetrics(registry);
  const recorder = new EventRecorder({ sink: kubernetesEventSink(kc.makeApiClient(EventsV1Api)), logger }, { reportingController: 'attested-inference-operator', reportingInstance: options.identity });
  const { elector, writer, leaderEvents } = fencedWriters(options, kc, logger);
  const parts = informers(kc, logger, options.namespaces);
  const requeue: { to?: (key: string) => void } = {};
  const watcher = attestationWatcher(options, own, logger, requeue);
  const monitors = watchServiceMonitorSupport(kc);
  await monitors.refresh();
  const port = cachedPort(kubernetesPort(writer, (endpoint, type, reason, message) => leaderEvents.event(endpoint, type, reason, message)), parts);
  const spend = createRedisSpendReader({ stores: await loadLimitsStores(options.limitsStoreConfig), logger: logger.child({ component: 'limits-store' }) });
  const reconciler = new EndpointReconciler({
    port,
    watcher,
    spend,
    now: () => new Date(),
    ...reconcilerSettings(options),
    onRollout: rolloutHook(writer, { recorder: leaderEvents, logger, rollouts: own.rollouts }, options.webhook !== undefined),
    serviceMonitor: () => monitors.supported(),
    pacer: rolloutPacer(options, requeue),
  });
  const controller = new Controller<InferenceEndpoint>({ logger, metrics }, {
    name: 'inferenceendpoint',
    primary: parts.endpoints,
    watches: relatedWatches(parts, reconciler),
    workers: options.workers,
    // Status writes bump resourceVersion but not generation: they need no reconcile of their own.
    updateFilter: (object, previous) => object.metadata.generation !== previous?.metadata.generation || object.metadata.deletionTimestamp !== undefined,
    reconcile: async (key, signal) => {
      const outcome = await reconciler.reconcile(key, signal);
      own.upstreams.set(watcher.upstreamCount());
      return outcome;
    },
  });
  requeue.to = (key) => controller.enqueue(key);
  // A deposed leader stops polling upstreams; the next term verifies them afresh.
  const leaderOnly = [{ start: () => watcher.resume(), stop: () => watcher.pause() }];
  const manager = new Manager({ logger, metrics, ...(elector ? { elector } : {}) }, { informers: [parts.endpoints, parts.deployments, ...parts.children, parts.slices], controllers: [controller as unknown as Controller], leaderOnly });
  registerConditionMetric(registry, { endpoints: () => parts.endpoints.list(), exporting: () => manager.isLeader() });
  const webhook = await startInjection(options, { kc, logger, registry, recorder, endpoints: parts.endpoints, leader: { isLeader: () => manager.isLeader(), writer, events: leaderEvents } });
  const probes = await startProbeServer({ registry, logger, checks: { ready: () => manager.isReady() && (webhook?.ready() ?? true) } }, { port: options.probePort, host: options.probeHost });
  await manager.start();
  logger.info({ namespaces: options.namespaces.length > 0 ? options.namespaces : 'all', leaderElection: options.leaderElection, probes: probes.url }, 'operator started');
  return {
    probes,
    manager,
    registry,
    ...(webhook ? { webhook } : {}),
    async stop(): Promise<void> {
      await webhook?.stop();
      await manager.stop();
      monitors.stop();
      watcher.stop();
      await spend.close();
      await Promise.all([leaderEvents.flush(), recorder.flush()]);
      await probes.close();
    },
  };
}
