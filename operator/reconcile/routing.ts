import type { V1EndpointSlice } from '@kubernetes/client-node';

/** SERVICE_NAME_LABEL is the label the EndpointSlice controller puts on every slice of a Service (discovery.k8s.io/v1). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * readyAddresses counts the distinct endpoints a Service's EndpointSlices list as ready, for
 * Available's routability check. An endpoint whose `conditions.ready` is unset counts as ready, as
 * the EndpointSlice API asks consumers to read it; a terminating pod's is false. A dual-stack
 * Service has a slice per address family listing the same pods, so pods are counted once (by
 * their targetRef, else by address) in the family that lists the most.
 */
export function readyAddresses(slices: readonly V1EndpointSlice[]): number {
  const byFamily = new Map<string, Set<string>>();
  for (const slice of slices) {
    const seen = byFamily.get(slice.addressType) ?? new Set<string>();
    byFamily.set(slice.addressType, seen);
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      seen.add(endpoint.targetRef?.uid ?? endpoint.targetRef?.name ?? endpoint.addresses.join(','));
    }
  }
  return Math.max(0, ...[...byFamily.values()].map((s) => s.size));
}
