import { SIDECAR_UID } from './sidecar.ts';

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
  'endpoint-not-injectable': { sentence: "The InferenceEndpoint's provider is privatemode, whose privatemode-proxy runs only in the endpoint's own proxy pods, never as a sidecar: call the endpoint's status.url instead.", eventType: 'Warning' },
  'endpoint-refused-by-policy': { sentence: 'The InferenceEndpoint asks for something the admin policy does not allow (its Degraded condition, reason PolicyViolation, names the policy), so no proxy runs it.', eventType: 'Warning' },
  'shared-process-namespace': { sentence: 'The pod shares a process namespace (spec.shareProcessNamespace or spec.hostPID), through which its containers could read the sidecar\'s memory and files, the provider key included.', eventType: 'Warning' },
  'shared-uid': { sentence: `A container of the pod runs as the sidecar's user (UID ${String(SIDECAR_UID)}), which could read the sidecar's memory and files wherever their processes meet.`, eventType: 'Warning' },
  'app-mounts-sidecar-volume': { sentence: 'A container of the pod mounts a volume reserved for the sidecar (attested-inference-*), which would hand it the provider key or the sidecar\'s other secrets.', eventType: 'Warning' },
  'targets-sidecar': { sentence: 'An ephemeral container of the pod targets the sidecar (targetContainerName), which would put it in the sidecar\'s process namespace.', eventType: 'Warning' },
  'sidecar-volume-name-taken': { sentence: 'The pod has a volume of a name reserved for the sidecar (attested-inference-*), which would clash with the sidecar\'s own.', eventType: 'Warning' },
} as const satisfies Record<string, { sentence: string; eventType: 'Normal' | 'Warning' }>;

/** ReasonCode names one outcome of the injection decision. */
export type ReasonCode = keyof typeof REASONS;

/**
 * ISOLATION_REASONS are the outcomes for a pod that asked for the sidecar but would hand its app
 * containers the provider key the sidecar keeps from them (operator/webhook/isolation.ts).
 */
export const ISOLATION_REASONS: readonly ReasonCode[] = ['shared-process-namespace', 'shared-uid', 'app-mounts-sidecar-volume', 'targets-sidecar', 'sidecar-volume-name-taken'];

/**
 * FAILABLE_REASONS are the outcomes the failure mode governs: the pod asked for a sidecar it cannot
 * have, so it is refused (`reject`) or admitted without the sidecar (`admit`), never injected.
 */
export const FAILABLE_REASONS: readonly ReasonCode[] = ['no-default-endpoint', 'endpoint-not-found', 'endpoint-not-ready', 'endpoint-not-injectable', 'endpoint-refused-by-policy', ...ISOLATION_REASONS];

/** statusAnnotationValue is what `inference.attested.dev/status` says for an outcome. */
export function statusAnnotationValue(reason: ReasonCode): string {
  return reason === 'injected' ? 'injected' : `skipped:${reason}`;
}

/** reasonMessage is the human sentence for an outcome, naming the endpoint and the pod's field that decided it when there are. */
export function reasonMessage(reason: ReasonCode, endpoint?: string, field?: string): string {
  const sentence = REASONS[reason].sentence;
  const named = endpoint === undefined ? sentence : `${sentence} (endpoint ${JSON.stringify(endpoint)})`;
  return field === undefined ? named : `${named} (field ${field})`;
}
