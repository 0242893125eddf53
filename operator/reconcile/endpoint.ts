import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { REASONS } from '../api/v1alpha1/conditions.ts';
import type { BudgetWindowStatus, Condition, InferenceEndpoint, InferenceEndpointStatus, RolloutRecord } from '../api/v1alpha1/types.ts';
import type { UpstreamObservation } from '../attestation/observation.ts';
import { VERIFY_TIMEOUT_MS, type AttestationWatcher } from '../attestation/watcher.ts';
import { BudgetReports, budgetEvents, budgetWindows, namespaceBudgets } from '../limits/budget-status.ts';
import type { SpendReader } from '../limits/spend-reader.ts';
import { LimitsStoreRefused } from '../limits/store-access.ts';
import { developmentTrustAllowed, policyViolations, type PolicyViolation } from '../policy/admin-policy.ts';
import { builtInPolicy, type AdminPolicy } from '../policy/model.ts';
import { desiredChildren, type DesiredOptions } from '../resources/desired.ts';
import { canonicalJson } from '../resources/hash.ts';
import { ANNOTATION_RELEASE_DIGEST, childNames } from '../resources/names.ts';
import { endpointUrl } from '../resources/networking.ts';
import { PROXY_PORTS } from '../resources/proxy-config.ts';
import { isConflict } from '../controller/api-errors.ts';
import type { RolloutPacer, Turn } from '../controller/rollout-pacer.ts';
import { AppliedRecords } from './apply.ts';
import { ChildWriter } from './children.ts';
import { controlledBy } from './ownership.ts';
import type { ClusterPort } from './port.ts';
import { refusedStatus, removeChildren } from './refused.ts';
import { reportProgress, rolloutStep } from './rollout-step.ts';
import { readyAddresses } from './routing.ts';
import { secretProblems } from './secrets.ts';
import { computeStatus, rolloutSettled, type Problem } from './status.ts';

/** EndpointReconcilerDeps are the reconciler's collaborators and the operator-level options. */
export interface EndpointReconcilerDeps {
  readonly port: ClusterPort;
  readonly watcher: AttestationWatcher;
  /** options.allowDevelopmentTrust is the operator's --allow-development-trust flag (absent: off). */
  readonly options: Omit<DesiredOptions, 'releaseDigest' | 'serviceMonitor'>;
  /** policy is the admin policy (--policy-file); absent, the built-in closed default (operator/policy/model.ts). */
  readonly policy?: AdminPolicy;
  /** serviceMonitor says whether the cluster serves the ServiceMonitor CRD right now. */
  readonly serviceMonitor?: () => boolean;
  readonly now: () => Date;
  /** onRollout hears each rollout once, after the status write that records it succeeded (the counter, sidecar rolls). */
  readonly onRollout?: (endpoint: InferenceEndpoint, rollout: RolloutRecord) => void;
  /** pacer paces rollouts per upstream (--max-concurrent-rollouts); absent, every endpoint rolls at once. */
  readonly pacer?: RolloutPacer;
  /** spend reads namespace budgets' spend from the limits store, for status.budgets (ADR 0007). */
  readonly spend?: SpendReader;
  /** budgetPollMs is how often an endpoint with namespace budgets is looked at again (default a minute). */
  readonly budgetPollMs?: number;
  /**
   * routeProbe connects to host:port and says whether that went through (--probe-service-routes):
   * before an endpoint first turns Available, through its Service, so Available waits for the
   * nodes' Service rules as well as the EndpointSlices. Absent, nothing is probed.
   */
  readonly routeProbe?: (host: string, port: number) => Promise<boolean>;
}

/** ROUTE_PROBE_RETRY_MS is how soon an endpoint whose Service did not connect yet is looked at again. */
const ROUTE_PROBE_RETRY_MS = 1000;

/** Gathered is what a pass read before deciding: the watcher's observation and the Deployment the endpoint controls. */
interface Gathered {
  readonly observation: UpstreamObservation;
  readonly deployment: V1Deployment | undefined;
}

/** Release is #release's decision: the digest to stamp, the endpoint as now stored, whether to hold the Deployment back, and when to look again. */
interface Release {
  readonly endpoint: InferenceEndpoint;
  readonly digest?: string;
  readonly holdDeployment: boolean;
  readonly retryAfterMs?: number;
}

/** FIRST_OBSERVATION_RETRY_MS is a fallback look while the first verification is pending; its arrival requeues the endpoint at once. */
const FIRST_OBSERVATION_RETRY_MS = VERIFY_TIMEOUT_MS + 1000;
/** TURN_RETRY_MS is a fallback look while waiting for a rollout turn; a freed turn requeues the waiting endpoints at once. */
const TURN_RETRY_MS = 15_000;

/** NEVER_ABORTED stands in for the signal of a caller that passes none (tests, tools). */
const NEVER_ABORTED = new AbortController().signal;

/** pendingRelease is a pass's Release before the rollout step: a new endpoint whose upstream is not verified yet holds its Deployment back. */
function pendingRelease(endpoint: InferenceEndpoint, gathered: Gathered): Release {
  const pending = gathered.observation.status === 'pending' && gathered.deployment === undefined;
  return { endpoint, holdDeployment: pending, ...(pending ? { retryAfterMs: FIRST_OBSERVATION_RETRY_MS } : {}) };
}

/** jitteredMs spreads a fallback look over [ms, 1.5 ms), so endpoints waiting together do not come back together. */
function jitteredMs(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (1 + 0.5 * random()));
}

/** ReconcileOutcome tells the controller whether to look again later. */
export interface ReconcileOutcome {
  readonly requeueAfterMs?: number;
}

/**
 * releaseToStamp decides which attested release the pod template carries. With Follow, a newly
 * verified release replaces the stamped one, which rolls the pods (a RolloutRecord says why). A
 * failed or pending verification, an unpinned release under Pin, or an unattested upstream keeps
 * what is stamped: pods are never rolled towards something that did not verify.
 */
export function releaseToStamp(endpoint: InferenceEndpoint, observation: UpstreamObservation, stamped: string | undefined, now: Date): { digest?: string; rollout?: RolloutRecord } {
  if (observation.status !== 'verified') return stamped ? { digest: stamped } : {};
  const digest = observation.result.releaseDigest;
  const a = endpoint.spec.attestation;
  if (a.policy === 'Pin' && !(a.pinnedDigests ?? []).includes(digest)) return stamped ? { digest: stamped } : {};
  if (stamped === undefined || stamped === digest) return { digest };
  return { digest, rollout: { at: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), reason: 'ReleaseChanged', fromDigest: stamped, toDigest: digest } };
}

function transitions(before: readonly Condition[] | undefined, after: readonly Condition[]): Condition[] {
  return after.filter((c) => {
    const previous = before?.find((p) => p.type === c.type);
    return previous?.reason !== c.reason && !(previous === undefined && REASONS[c.reason as keyof typeof REASONS].status !== 'True' && c.type === 'Degraded');
  });
}

/** EndpointReconciler turns an InferenceEndpoint into its children and its status. */
export class EndpointReconciler {
  readonly #deps: EndpointReconcilerDeps;
  readonly #applied = new AppliedRecords();
  readonly #children: ChildWriter;
  readonly #budgetReports = new BudgetReports();

  constructor(deps: EndpointReconcilerDeps) {
    this.#deps = deps;
    this.#children = new ChildWriter(deps.port, this.#applied);
  }

  /** isOwnWrite tells whether a child event only echoes the reconciler's own last write of it. */
  isOwnWrite(object: KubernetesObject): boolean {
    return this.#applied.isOwnWrite(object);
  }

  /** reconcile handles one `namespace/name` key: gather, compute, compare, write. */
  async reconcile(key: string, signal?: AbortSignal): Promise<ReconcileOutcome> {
    const [namespace = '', name = ''] = key.split('/');
    const endpoint = await this.#deps.port.getEndpoint(namespace, name);
    if (endpoint === undefined || endpoint.metadata.deletionTimestamp !== undefined) {
      // Owner references let the garbage collector remove the children.
      this.#forget(key);
      this.#applied.forget(namespace, Object.values(childNames(name)));
      return {};
    }
    // The admin policy comes before anything is verified, rendered or applied (operator/policy/).
    const violations = this.#violations(endpoint);
    if (violations.length > 0) return this.#refuse(key, endpoint, violations);
    // Leadership lost or shutting down: stop before the next write (the fence refuses it anyway).
    const abort = signal ?? NEVER_ABORTED;
    const gathered = await this.#gather(key, endpoint);
    const { observation, deployment } = gathered;
    const now = this.#deps.now();
    const release = await this.#release({ key, endpoint, gathered, now, signal: abort });
    if (release === undefined) return { requeueAfterMs: 250 };
    abort.throwIfAborted();
    const problems: Problem[] = [];
    const written = await this.#children.writeAll(endpoint, this.#render(endpoint, deployment, release), problems);
    // Only a generation whose every child was written counts as observed (docs/adr/0014-ready-and-available.md).
    const childrenWritten = written.retryAfterMs === undefined && problems.length === 0;
    const current = written.deployment ?? deployment;
    problems.push(...(await this.#mountProblems(endpoint, current)));
    const budgets = await this.#budgets(endpoint, now, problems);
    const routing = await this.#routing(endpoint);
    // The rollout record, if any, is in release.endpoint's status already: computeStatus keeps it.
    const computed = computeStatus({ endpoint: release.endpoint, deployment: current, observation, problems, url: endpointUrl(endpoint), now, childrenWritten, ...routing });
    abort.throwIfAborted();
    if (!(await this.#writeStatus(release.endpoint, withBudgets(computed, budgets)))) return { requeueAfterMs: 250 };
    this.#announceBudgets(endpoint, budgets);
    throwIfFailed(problems);
    const routeRetry = routing.serviceReached === false ? ROUTE_PROBE_RETRY_MS : undefined;
    const look = soonest(soonest(soonest(nextLook(rolloutSettled(current, endpoint.spec.replicas), budgets, this.#deps.budgetPollMs), written.retryAfterMs), release.retryAfterMs), routeRetry);
    return soonest(look, untilExpiryMs(observation, now));
  }

  /** #forget drops what the operator keeps in memory for an endpoint it no longer renders: its upstream, spend and rollout turn. */
  #forget(key: string): void {
    this.#deps.watcher.forget(key);
    this.#deps.spend?.forget(key);
    this.#budgetReports.forget(key);
    this.#deps.pacer?.forget(key);
  }

  #policy(): AdminPolicy {
    return this.#deps.policy ?? builtInPolicy(this.#deps.options.allowDevelopmentTrust === true);
  }

  #violations(endpoint: InferenceEndpoint): PolicyViolation[] {
    const { image, privatemodeProxyImage } = this.#deps.options.image;
    return policyViolations(endpoint, this.#policy(), { proxyImage: image, allowDevelopmentTrust: this.#deps.options.allowDevelopmentTrust === true, ...(privatemodeProxyImage ? { privatemodeProxyImage } : {}) });
  }

  /**
   * #refuse handles an endpoint the admin policy refuses: nothing is verified or rendered, children
   * it already owns are deleted (they run or trust what the policy refuses), and the status says
   * so; its Event comes with the status write.
   */
  async #refuse(key: string, endpoint: InferenceEndpoint, violations: readonly PolicyViolation[]): Promise<ReconcileOutcome> {
    const namespace = endpoint.metadata.namespace ?? '';
    this.#forget(key);
    const { removed, failed } = await removeChildren(this.#deps.port, endpoint, this.#deps.serviceMonitor?.() === true);
    this.#applied.forget(namespace, Object.values(childNames(endpoint.metadata.name ?? '')));
    if (removed.length > 0) this.#deps.port.event(endpoint, 'Warning', 'PolicyViolation', `Deleted ${removed.join(', ')}: the admin policy refuses the endpoint.`);
    if (failed.length > 0) this.#deps.port.event(endpoint, 'Warning', 'PolicyViolation', `Could not delete children of a refused endpoint: ${failed.join('; ')}`);
    return (await this.#writeStatus(endpoint, refusedStatus(endpoint, violations, this.#deps.now()))) ? {} : { requeueAfterMs: 250 };
  }

  /**
   * #budgets reads the namespace's spend for status.budgets. When the store cannot be read, the
   * windows last written are kept and Degraded says why (its Event comes with the status write).
   */
  async #budgets(endpoint: InferenceEndpoint, now: Date, problems: Problem[]): Promise<readonly BudgetWindowStatus[] | undefined> {
    const declared = namespaceBudgets(endpoint.spec);
    if (this.#deps.spend === undefined) return undefined;
    if (declared.length === 0) {
      this.#deps.spend.forget(`${endpoint.metadata.namespace ?? ''}/${endpoint.metadata.name ?? ''}`);
      return undefined;
    }
    try {
      const spent = await this.#deps.spend.read(endpoint, declared.map((b) => b.window), now.getTime());
      // Written on a meaningful change or at a slow cadence, not on every poll (BudgetReports).
      return this.#budgetReports.report(`${endpoint.metadata.namespace ?? ''}/${endpoint.metadata.name ?? ''}`, endpoint.status?.budgets, budgetWindows(declared, spent, now.getTime()), now.getTime());
    } catch (error) {
      problems.push(spendProblem(endpoint, error));
      return endpoint.status?.budgets ?? [];
    }
  }

  /** #announceBudgets records an Event for each budget threshold crossed since the status last written. */
  #announceBudgets(endpoint: InferenceEndpoint, budgets: readonly BudgetWindowStatus[] | undefined): void {
    if (budgets === undefined) return;
    for (const e of budgetEvents(endpoint.status?.budgets, budgets, endpoint.spec.prices.currency)) this.#deps.port.event(endpoint, e.type, e.reason, e.message);
  }

  /** #gather reads what the pass needs; the observation is what the watcher knows now (it never waits on the network). */
  async #gather(key: string, endpoint: InferenceEndpoint): Promise<Gathered> {
    const observation = this.#deps.watcher.observe(key, endpoint);
    const found = await this.#deps.port.getDeployment(endpoint.metadata.namespace ?? '', childNames(endpoint.metadata.name ?? '').deployment);
    // A Deployment of that name the endpoint does not control (docs/adr/0010-no-adoption.md) says nothing about its pods.
    const deployment = controlledBy(found?.metadata, endpoint) ? found : undefined;
    return { observation, deployment };
  }

  /** #routing is what Available's routability is decided from: the Service's ready addresses, and whether a connection went through it. */
  async #routing(endpoint: InferenceEndpoint): Promise<{ routableAddresses: number | undefined; serviceReached?: boolean }> {
    const routableAddresses = await this.#routable(endpoint);
    const serviceReached = await this.#serviceReached(endpoint, routableAddresses);
    return { routableAddresses, ...(serviceReached === undefined ? {} : { serviceReached }) };
  }

  /**
   * #serviceReached probes the Service once its EndpointSlices list every desired address, until the
   * endpoint first turns Available (after that, a roll changes addresses behind rules that exist).
   */
  async #serviceReached(endpoint: InferenceEndpoint, routableAddresses: number | undefined): Promise<boolean | undefined> {
    const probe = this.#deps.routeProbe;
    const want = endpoint.spec.replicas;
    if (probe === undefined || want === 0 || (routableAddresses ?? 0) < want) return undefined;
    const available = endpoint.status?.conditions?.find((c) => c.type === 'Available');
    if (available?.status === 'True') return undefined;
    const host = `${childNames(endpoint.metadata.name ?? '').service}.${endpoint.metadata.namespace ?? ''}.svc`;
    return probe(host, PROXY_PORTS.admin);
  }

  /** #routable counts the ready addresses of the endpoint's Service (Available's routability); unknown when they cannot be listed. */
  async #routable(endpoint: InferenceEndpoint): Promise<number | undefined> {
    const slices = await this.#deps.port.serviceSlices(endpoint.metadata.namespace ?? '', childNames(endpoint.metadata.name ?? '').service).catch(() => undefined);
    return slices === undefined ? undefined : readyAddresses(slices);
  }

  /** #mountProblems asks kubelet's Events why pods are not ready, only when some exist and are not. */
  async #mountProblems(endpoint: InferenceEndpoint, deployment: V1Deployment | undefined): Promise<Problem[]> {
    const status = deployment?.status;
    if ((status?.replicas ?? 0) === 0 || (status?.readyReplicas ?? 0) >= endpoint.spec.replicas) return [];
    const prefix = `${childNames(endpoint.metadata.name ?? '').deployment}-`;
    return secretProblems(endpoint, await this.#deps.port.mountFailures(endpoint.metadata.namespace ?? '', prefix));
  }

  /**
   * #release decides which release the pod template carries this pass. A release transition
   * needs a turn (the pacer: at most N endpoints of an upstream roll at once) and is recorded in
   * status before the template changes; its Event, counter and sidecar roll fire only after that
   * write succeeded, so a conflict (undefined: look again) neither loses nor repeats them. The
   * returned endpoint carries the status as written.
   */
  async #release(pass: { key: string; endpoint: InferenceEndpoint; gathered: Gathered; now: Date; signal: AbortSignal }): Promise<Release | undefined> {
    const { key, endpoint, gathered, signal } = pass;
    const stamped = stampedRelease(gathered.deployment);
    const { digest, rollout: wanted } = releaseToStamp(endpoint, gathered.observation, stamped, pass.now);
    const group = this.#deps.watcher.upstreamOf(key);
    reportProgress(this.#deps.pacer, { key, group, endpoint, deployment: gathered.deployment, stamped });
    const step = rolloutStep({ key, endpoint, wanted, group }, this.#deps.pacer);
    const base = pendingRelease(endpoint, gathered);
    if (step.kind === 'wait') {
      this.#announceWait(endpoint, step.turn);
      return { ...base, ...(stamped ? { digest: stamped } : {}), retryAfterMs: jitteredMs(TURN_RETRY_MS) };
    }
    if (step.kind !== 'record') return { ...base, ...(digest ? { digest } : {}) };
    signal.throwIfAborted();
    const recorded = await this.#writeRecord(endpoint, step.record);
    if (recorded === undefined) return undefined;
    this.#deps.port.event(recorded, 'Normal', 'ReleaseChanged', `Upstream release changed from ${step.record.fromDigest ?? '?'} to ${step.record.toDigest ?? '?'}; rolling the proxy pods.`);
    this.#deps.onRollout?.(recorded, step.record);
    return { ...base, endpoint: recorded, ...(digest ? { digest } : {}) };
  }

  /**
   * #render is the children to write: the Deployment carries the release decided for this pass;
   * until the upstream's first verification arrives, a new endpoint gets no Deployment at all, so
   * its pods start on an attested release instead of rolling right after they started.
   */
  #render(endpoint: InferenceEndpoint, deployment: V1Deployment | undefined, release: Release): KubernetesObject[] {
    const allowDevelopmentTrust = developmentTrustAllowed(this.#policy(), endpoint.metadata.namespace ?? '', this.#deps.options.allowDevelopmentTrust === true);
    const desired = desiredChildren(endpoint, { ...this.#deps.options, allowDevelopmentTrust, serviceMonitor: this.#deps.serviceMonitor?.() === true, ...(release.digest ? { releaseDigest: release.digest } : {}), ...(deployment ? { previousDeployment: deployment } : {}) });
    return release.holdDeployment ? desired.objects.filter((o) => o.kind !== 'Deployment') : [...desired.objects];
  }

  /** #writeRecord writes the rollout record alone into the status as it is (no condition changes); undefined on a conflict. */
  async #writeRecord(endpoint: InferenceEndpoint, record: RolloutRecord): Promise<InferenceEndpoint | undefined> {
    const previous = endpoint.status ?? {};
    const status: InferenceEndpointStatus = { ...previous, attestation: { ...previous.attestation, lastRollout: record } };
    try {
      await this.#deps.port.writeStatus(endpoint, status);
    } catch (error) {
      if (isConflict(error)) return undefined;
      throw error;
    }
    return { ...endpoint, status };
  }

  /** #announceWait records an Event when an endpoint starts waiting for its rollout turn. */
  #announceWait(endpoint: InferenceEndpoint, turn: Extract<Turn, { granted: false }>): void {
    if (!turn.newlyWaiting) return;
    this.#deps.port.event(endpoint, 'Normal', 'RolloutWaiting', `Waiting for a turn to roll to the new release: ${String(turn.rolling)} endpoints of the same upstream are rolling (--max-concurrent-rollouts); ${String(turn.position)} in line.`);
  }

  /**
   * #writeStatus writes the status only when it changed, with an Event for each condition whose
   * reason changed. It returns false on a conflict: the endpoint changed since it was read (often
   * our own previous status write, not yet in the informer's cache), so the caller looks again
   * shortly with the newer object instead of counting an error.
   */
  async #writeStatus(endpoint: InferenceEndpoint, status: InferenceEndpointStatus): Promise<boolean> {
    if (canonicalJson(status) === canonicalJson(endpoint.status ?? {})) return true;
    try {
      await this.#deps.port.writeStatus(endpoint, status);
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
    this.#announce(endpoint, status);
    return true;
  }

  #announce(endpoint: InferenceEndpoint, status: InferenceEndpointStatus): void {
    for (const c of transitions(endpoint.status?.conditions, status.conditions ?? [])) {
      const warning = (c.type === 'Degraded' && c.status === 'True') || (c.type === 'Attested' && c.status === 'False' && c.reason !== 'Unattested');
      this.#deps.port.event(endpoint, warning ? 'Warning' : 'Normal', c.reason, c.message);
    }
  }
}

/** spendProblem is Degraded's reason for a failed spend read: a store the operator refuses to connect to, or one it cannot reach. */
function spendProblem(endpoint: InferenceEndpoint, error: unknown): Problem {
  if (error instanceof LimitsStoreRefused) return { reason: error.reason, message: error.message };
  return { reason: 'LimitsStoreUnreachable', message: `Reading budgets from ${endpoint.spec.limitsStore?.redis.url ?? ''} failed: ${(error as Error).message}` };
}

/** withBudgets adds the budget windows read (if any) to the computed status. */
function withBudgets(status: InferenceEndpointStatus, budgets: readonly BudgetWindowStatus[] | undefined): InferenceEndpointStatus {
  return budgets === undefined ? status : { ...status, budgets };
}

/** nextLook is when to reconcile again: soon while pods roll, on the budget poll while budgets are read, else on the next change. */
function nextLook(settled: boolean, budgets: readonly BudgetWindowStatus[] | undefined, budgetPollMs = 60_000): ReconcileOutcome {
  if (!settled) return { requeueAfterMs: 5000 };
  return budgets === undefined ? {} : { requeueAfterMs: budgetPollMs };
}

/** untilExpiryMs is when the last verified document's deadline passes, so Attested turns AttestationExpired on time (undefined: it does not expire, or it has). */
function untilExpiryMs(observation: UpstreamObservation, now: Date): number | undefined {
  const expiresAt = observation.status === 'verified' ? observation.result.expiresAt : observation.status === 'failed' ? observation.previous?.expiresAt : undefined;
  const ms = expiresAt === undefined ? 0 : expiresAt.getTime() - now.getTime();
  return ms > 0 ? Math.min(ms + 1, MAX_TIMER_MS) : undefined;
}

/** MAX_TIMER_MS is the longest delay a Node.js timer takes (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** soonest is `outcome`, looking again after `retryAfterMs` instead if that is sooner (children held back by a name conflict). */
function soonest(outcome: ReconcileOutcome, retryAfterMs: number | undefined): ReconcileOutcome {
  if (retryAfterMs === undefined) return outcome;
  return { requeueAfterMs: Math.min(outcome.requeueAfterMs ?? retryAfterMs, retryAfterMs) };
}

/** throwIfFailed turns write failures into an error, so the work queue retries with backoff. */
function throwIfFailed(problems: readonly Problem[]): void {
  const failed = problems.filter((p) => p.reason === 'ReconcileError');
  if (failed.length > 0) throw new Error(failed.map((p) => p.message).join('; '));
}

function stampedRelease(deployment: V1Deployment | undefined): string | undefined {
  return deployment?.spec?.template.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST];
}
