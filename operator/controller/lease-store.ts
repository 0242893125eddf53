import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { isNotFound } from './api-errors.ts';
import type { LeaseRecord } from './lease-logic.ts';

/** StoredLease is a lease record and the resourceVersion it was read or written at. */
export interface StoredLease {
  readonly record: LeaseRecord;
  readonly resourceVersion: string;
}

/**
 * LeaseStore reads and writes one Lease. `create` and `update` throw a 409 error when another
 * writer got there first (the object exists, or its resourceVersion moved on): optimistic
 * concurrency is how two candidates agree on a single winner.
 */
export interface LeaseStore {
  readonly description: string;
  get(): Promise<StoredLease | undefined>;
  create(record: LeaseRecord): Promise<StoredLease>;
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/** LeaseName locates a Lease. */
export interface LeaseName {
  readonly namespace: string;
  readonly name: string;
}

/** kubernetesLeaseStore keeps the record in a coordination.k8s.io/v1 Lease through the API server. */
export function kubernetesLeaseStore(api: CoordinationV1Api, lease: LeaseName): LeaseStore {
  const { namespace, name } = lease;
  return {
    description: `${namespace}/${name}`,
    async get() {
      try {
        return fromLease(await api.readNamespacedLease({ namespace, name }));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async create(record) {
      return fromLease(await api.createNamespacedLease({ namespace, body: toLease(lease, record) }));
    },
    async update(record, resourceVersion) {
      return fromLease(await api.replaceNamespacedLease({ namespace, name, body: toLease(lease, record, resourceVersion) }));
    },
  };
}

function toLease(lease: LeaseName, record: LeaseRecord, resourceVersion?: string): V1Lease {
  // MicroTime wants six fractional digits; V1MicroTime prints them (the model's serializer passes it through as is).
  const micro = (ms: number | undefined): V1MicroTime | undefined => (ms === undefined ? undefined : new V1MicroTime(ms));
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: lease.name, namespace: lease.namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: micro(record.acquireTime),
      renewTime: micro(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}

function fromLease(lease: V1Lease): StoredLease {
  const spec = lease.spec ?? {};
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: millis(spec.acquireTime),
      renewTime: millis(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}

// The client's deserializer does not know MicroTime and hands back the API server's string.
function millis(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' && value !== '') return Date.parse(value);
  return undefined;
}
