import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { condition, type PendingCondition } from './status.ts';

/** AvailabilityInputs are what Available is decided from: the endpoint, its Ready and Attested conditions, and its routing. */
export interface AvailabilityInputs {
  readonly endpoint: InferenceEndpoint;
  readonly ready: PendingCondition;
  readonly attested: PendingCondition;
  /** routableAddresses counts the ready addresses in the Service's EndpointSlices (undefined: not known). */
  readonly routableAddresses: number | undefined;
  /**
   * serviceReached says whether the operator connected through the Service (its metrics port, by
   * its DNS name) once the EndpointSlices listed every address; undefined when it did not probe.
   */
  readonly serviceReached?: boolean;
}

type Check = (i: AvailabilityInputs, generation: number | undefined) => PendingCondition | undefined;

/** attestedEnough: Attested is True, or the upstream is openai-compatible and the spec acknowledges it is not attested. */
function attestedEnough(i: AvailabilityInputs): boolean {
  if (i.attested.status === 'True') return true;
  return i.attested.reason === 'Unattested' && i.endpoint.spec.provider === 'openai-compatible' && i.endpoint.spec.acknowledgeUnattested;
}

/**
 * CHECKS decide Available as a chain of named checks, in order; the first that answers decides
 * (docs/adr/0014-ready-and-available.md): a proxy runs, the current template is rolled out and
 * ready, the upstream is attested (or acknowledged unattested), and the Service routes to every
 * desired pod.
 */
const CHECKS: readonly Check[] = [
  (i, g) => (i.endpoint.spec.replicas === 0 || i.ready.reason === 'RefusedByPolicy' ? condition('NoProxy', g) : undefined),
  (i, g) => (i.ready.status === 'True' ? undefined : condition('ProxyNotReady', g, `Ready is ${i.ready.status} (${i.ready.reason}): ${i.ready.message}`)),
  (i, g) => (attestedEnough(i) ? undefined : condition('NotAttested', g, `Attested is ${i.attested.status} (${i.attested.reason}): ${i.attested.message}`)),
  (i, g) => {
    const want = i.endpoint.spec.replicas;
    const routable = i.routableAddresses ?? 0;
    if (routable >= want) return undefined;
    return condition('NotRoutable', g, `The Service's EndpointSlices list ${String(routable)} of ${String(want)} ready proxy addresses.`);
  },
  // The EndpointSlices lead the nodes' Service rules (kube-proxy programs them after): a client's
  // first call in between fails to connect, so Available waits until a connection went through.
  (i, g) => (i.serviceReached === false
    ? condition('NotRoutable', g, 'The Service\'s EndpointSlices list every ready proxy address, but a connection through the Service does not go through yet: the nodes\' Service rules are not in place.')
    : undefined),
];

/** availableCondition is the Available condition: the first check that objects, else Serving. */
export function availableCondition(i: AvailabilityInputs, generation: number | undefined): PendingCondition {
  for (const check of CHECKS) {
    const answer = check(i, generation);
    if (answer !== undefined) return answer;
  }
  return condition('Serving', generation);
}
