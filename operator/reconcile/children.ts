import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { isConflict } from '../controller/api-errors.ts';
import type { AppliedRecords, Plan } from './apply.ts';
import { claimFor, conflictMessage, describeObject } from './ownership.ts';
import type { ClusterPort } from './port.ts';
import type { Problem } from './status.ts';

/** CONFLICT_RETRY_MS: a foreign object is not in the operator's caches (they hold its own labels), so no event says it went; look again. */
export const CONFLICT_RETRY_MS = 30_000;
/** COLLECTION_RETRY_MS: a predecessor's child is being garbage collected, which takes seconds. */
export const COLLECTION_RETRY_MS = 2000;

/** ChildrenOutcome is the Deployment as stored when it was written, and when to look again if writing was held back. */
export interface ChildrenOutcome {
  readonly deployment?: V1Deployment;
  readonly retryAfterMs?: number;
}

/** Hold is why no child is written this time, if any child's name is held by another object. */
export type Hold = { readonly reason: 'NameConflict'; readonly holders: readonly string[] } | { readonly reason: 'AwaitingCollection' } | undefined;

/**
 * holdFor decides whether the children may be written: not at all while any of their names is
 * held by an object the endpoint does not control (a Deployment whose Service selects someone
 * else's pods, or whose ConfigMap is someone else's, is of no use, and partial children would
 * need cleaning up). A conflict outranks waiting for the garbage collector, which ends by itself.
 */
export function holdFor(plans: readonly Plan[]): Hold {
  const holders = plans.flatMap((p) => (p.decision === 'Conflict' ? [p.holder] : []));
  if (holders.length > 0) return { reason: 'NameConflict', holders };
  return plans.some((p) => p.decision === 'AwaitCollection') ? { reason: 'AwaitingCollection' } : undefined;
}

const POD_PREREQUISITES = new Set(['ServiceAccount', 'RoleBinding', 'ConfigMap']);
const isPodPrerequisite = (object: KubernetesObject): boolean => POD_PREREQUISITES.has(object.kind ?? '');

/** ChildWriter writes one endpoint's children through the applied records, claiming each name first. */
export class ChildWriter {
  readonly #port: ClusterPort;
  readonly #records: AppliedRecords;

  constructor(port: ClusterPort, records: AppliedRecords) {
    this.#port = port;
    this.#records = records;
  }

  /**
   * writeAll plans every child, holds back every write while a name is not the endpoint's (a
   * NameConflict problem names the objects), and otherwise writes what changed in two waves of
   * parallel requests: first what a pod needs to exist when it is created (its ServiceAccount,
   * binding and ConfigMaps), then the rest.
   */
  async writeAll(endpoint: InferenceEndpoint, objects: readonly KubernetesObject[], problems: Problem[]): Promise<ChildrenOutcome> {
    const plans = await this.#planAll(endpoint, objects, problems);
    if (plans === undefined) return {};
    const hold = holdFor(plans);
    if (hold?.reason === 'NameConflict') problems.push({ reason: 'NameConflict', message: conflictMessage(hold.holders) });
    if (hold !== undefined) return { retryAfterMs: hold.reason === 'NameConflict' ? CONFLICT_RETRY_MS : COLLECTION_RETRY_MS };
    let deployment: V1Deployment | undefined;
    const planned = objects.map((object, i) => ({ object, plan: plans[i] ?? { decision: 'Skip' as const } }));
    for (const wave of [planned.filter((p) => isPodPrerequisite(p.object)), planned.filter((p) => !isPodPrerequisite(p.object))]) {
      await Promise.all(wave.map(async ({ object, plan }) => {
        const stored = await this.#write(endpoint, object, plan, problems);
        if (stored !== undefined && object.kind === 'Deployment') deployment = stored;
      }));
    }
    return deployment === undefined ? {} : { deployment };
  }

  /** #planAll plans each child; when a name cannot be read, nothing is written (fail closed) and a ReconcileError says why. */
  async #planAll(endpoint: InferenceEndpoint, objects: readonly KubernetesObject[], problems: Problem[]): Promise<Plan[] | undefined> {
    const plans = await Promise.all(objects.map(async (object) => {
      try {
        return await this.#records.plan(this.#port, endpoint, object);
      } catch (error) {
        problems.push({ reason: 'ReconcileError', message: `reading ${describeObject(object)} failed: ${(error as Error).message}` });
        return undefined;
      }
    }));
    return plans.every((p) => p !== undefined) ? plans : undefined;
  }

  async #write(endpoint: InferenceEndpoint, object: KubernetesObject, plan: Plan, problems: Problem[]): Promise<V1Deployment | undefined> {
    if (plan.decision !== 'Create' && plan.decision !== 'Apply') return undefined;
    try {
      return await this.#records.write(this.#port, object, plan);
    } catch (error) {
      problems.push(await this.#writeProblem(endpoint, object, plan, error));
      return undefined;
    }
  }

  /** #writeProblem explains a failed write; a create that met an object made meanwhile is a NameConflict naming it. */
  async #writeProblem(endpoint: InferenceEndpoint, object: KubernetesObject, plan: Plan, error: unknown): Promise<Problem> {
    if (plan.decision === 'Create' && isConflict(error)) {
      const claim = claimFor(endpoint, object, await this.#port.readMetadata(object).catch(() => undefined));
      if (claim.decision === 'Conflict' || claim.decision === 'AwaitCollection') return { reason: 'NameConflict', message: conflictMessage([claim.holder]) };
    }
    return { reason: 'ReconcileError', message: `${plan.decision === 'Create' ? 'creating' : 'applying'} ${String(object.kind)} ${object.metadata?.name ?? ''} failed: ${(error as Error).message}` };
  }
}
