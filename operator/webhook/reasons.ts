/**
 * REASONS is the one table of injection outcomes. Each code appears in the pod annotation
 * `inference.attested.dev/status` (`injected` or `skipped:<code>`), as the `reason` label of
 * `attested_inference_webhook_injections_total` and in Event text; docs/sidecar-injection.md lists
 * the same sentences (a unit test checks they match).
 */
export const REASONS = {
  'injected': { sentence: 'The attesting proxy was added as a native sidecar.', eventType: 'Normal' },
  'not-opted-in': { sentence: 'Neither the pod nor its namespace asked for injection.', eventType: 'Normal' },
  'opted-out': { sentence: 'The pod opted out with inference.attested.dev/inject: "false".', eventType: 'Normal' },
  'host-network': { sentence: 'The pod uses the host network, where 127.0.0.1 is the node\'s loopback and the sidecar\'s ports would clash.', eventType: 'Warning' },
  'proxy-pod': { sentence: 'The pod is an InferenceEndpoint\'s own proxy, which never gets a sidecar.', eventType: 'Normal' },
  'already-injected': { sentence: 'The pod already has the proxy sidecar; it was left unchanged.', eventType: 'Normal' },
  'no-default-endpoint': { sentence: 'The namespace opted in but names no default endpoint (annotation inference.attested.dev/default-endpoint) and does not hold exactly one InferenceEndpoint.', eventType: 'Warning' },
  'endpoint-not-found': { sentence: 'The InferenceEndpoint the pod names does not exist in its namespace.', eventType: 'Warning' },
  'endpoint-not-ready': { sentence: 'The InferenceEndpoint has not been reconciled by the operator yet, so its sidecar configuration may be missing or stale.', eventType: 'Warning' },
} as const satisfies Record<string, { sentence: string; eventType: 'Normal' | 'Warning' }>;

/** ReasonCode names one outcome of the injection decision. */
export type ReasonCode = keyof typeof REASONS;

/** FAILABLE_REASONS are the outcomes the failure mode governs: the pod asked for a sidecar it cannot have. */
export const FAILABLE_REASONS: readonly ReasonCode[] = ['no-default-endpoint', 'endpoint-not-found', 'endpoint-not-ready'];

/** statusAnnotationValue is what `inference.attested.dev/status` says for an outcome. */
export function statusAnnotationValue(reason: ReasonCode): string {
  return reason === 'injected' ? 'injected' : `skipped:${reason}`;
}

/** reasonMessage is the human sentence for an outcome, naming the endpoint when there is one. */
export function reasonMessage(reason: ReasonCode, endpoint?: string): string {
  const sentence = REASONS[reason].sentence;
  return endpoint === undefined ? sentence : `${sentence} (endpoint ${JSON.stringify(endpoint)})`;
}
