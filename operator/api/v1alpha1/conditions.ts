import type { ConditionStatus } from './types.ts';

/** ConditionType names the conditions an InferenceEndpoint reports. */
export const ConditionType = {
  /** Ready: the Deployment rolled out the current template and every desired proxy pod is ready (docs/adr/0014-ready-and-available.md). */
  Ready: 'Ready',
  /** Available: Ready, Attested and routable; the condition a client waits for (docs/status.md). */
  Available: 'Available',
  /** Attested: the upstream verified; the reason says how, or why not. */
  Attested: 'Attested',
  /** Progressing: proxy pods are being replaced. */
  Progressing: 'Progressing',
  /** Degraded: something needs the user's attention. */
  Degraded: 'Degraded',
} as const;
/** ConditionType is one of the condition type names. */
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** ReasonEntry is a reason's condition, the status it always comes with, and its sentence for humans. */
export interface ReasonEntry {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly sentence: string;
}

/**
 * REASONS is the one catalogue of condition reasons. A reason always comes with the same condition
 * and status; its sentence is the condition's message unless a more specific one is known, and the
 * reason is also the Event reason and the metric label for the same outcome.
 */
export const REASONS = {
  ProxyPodsReady: { type: 'Ready', status: 'True', sentence: 'The current template is rolled out and every desired proxy pod is ready to answer.' },
  WaitingForPods: { type: 'Ready', status: 'False', sentence: 'Fewer proxy pods are ready than spec.replicas asks for.' },
  WaitingForRollout: {
    type: 'Ready',
    status: 'False',
    sentence: 'The proxy Deployment has not rolled out the current template to every pod yet (pods of an older template remain, or the Deployment controller has not seen it).',
  },
  ScaledToZero: { type: 'Ready', status: 'False', sentence: 'spec.replicas is 0, so no proxy pod runs.' },

  Verified: { type: 'Attested', status: 'True', sentence: 'The upstream runs a release that verified against the configured code repository.' },
  DevelopmentTrust: {
    type: 'Attested',
    status: 'True',
    sentence: 'The upstream verified against a development signing key, not hardware attestation; do not use this in production.',
  },
  Unattested: {
    type: 'Attested',
    status: 'False',
    sentence: 'The provider is openai-compatible: requests go in plaintext to an upstream that is not attested.',
  },
  Delegated: {
    type: 'Attested',
    status: 'True',
    sentence:
      'The provider is privatemode: privatemode-proxy, beside the proxy in each pod, attests Privatemode and encrypts the requests; ' +
      'it refuses to serve when its attestation fails, which callers see as upstream errors. The operator verifies nothing itself.',
  },
  AttestationFailed: {
    type: 'Attested',
    status: 'False',
    sentence: 'The upstream failed verification; proxies refuse inference requests until it verifies.',
  },
  AttestationExpired: {
    type: 'Attested',
    status: 'False',
    sentence: 'The verified attestation document has expired and no fresh verification has succeeded; proxies refuse new requests until one does.',
  },
  PinnedDigestMismatch: {
    type: 'Attested',
    status: 'False',
    sentence: 'The upstream runs a release not listed in spec.attestation.pinnedDigests; update the pin to accept it.',
  },
  DevelopmentTrustDisabled: {
    type: 'Attested',
    status: 'False',
    sentence: 'spec.attestation.trust is Development but development trust is not allowed (--allow-development-trust and the admin policy); no proxy runs for the endpoint.',
  },
  Pending: { type: 'Attested', status: 'Unknown', sentence: 'The upstream has not been verified yet.' },

  RollingOut: { type: 'Progressing', status: 'True', sentence: 'Proxy pods are being replaced with pods of the current template.' },
  RolloutComplete: { type: 'Progressing', status: 'False', sentence: 'Every proxy pod runs the current template.' },

  Serving: { type: 'Available', status: 'True', sentence: 'Ready, attested and routable: a client in the namespace can call status.url now.' },
  ProxyNotReady: { type: 'Available', status: 'False', sentence: 'Ready is not True: the current template is not rolled out to every desired proxy pod yet.' },
  NotAttested: { type: 'Available', status: 'False', sentence: 'Attested is not True: proxies answer every inference request with a 503 until the upstream verifies.' },
  NotRoutable: {
    type: 'Available',
    status: 'False',
    sentence: "The Service's EndpointSlices list fewer ready addresses than spec.replicas: new connections may not reach every proxy pod yet.",
  },
  NoProxy: { type: 'Available', status: 'False', sentence: 'No proxy runs for the endpoint (spec.replicas is 0, or the admin policy refuses it).' },

  Healthy: { type: 'Degraded', status: 'False', sentence: 'Nothing needs attention.' },
  RolloutStuck: {
    type: 'Degraded',
    status: 'True',
    sentence: 'The proxy Deployment cannot make progress (ProgressDeadlineExceeded or ReplicaFailure, e.g. a ResourceQuota); the message is the Deployment controller\'s.',
  },
  SecretNotFound: { type: 'Degraded', status: 'True', sentence: 'A Secret the endpoint names does not exist in its namespace.' },
  SecretKeyMissing: { type: 'Degraded', status: 'True', sentence: 'A Secret the endpoint names lacks the key the endpoint asks for.' },
  InvalidSpec: {
    type: 'Degraded',
    status: 'True',
    sentence: 'The spec passed the API server\'s validation but cannot be turned into a proxy configuration.',
  },
  ReconcileError: {
    type: 'Degraded',
    status: 'True',
    sentence: 'Writing a child object failed; the operator retries with backoff.',
  },
  LimitsStoreUnreachable: {
    type: 'Degraded',
    status: 'True',
    sentence: 'The operator cannot read spec.limitsStore; proxies apply its failurePolicy while they cannot reach it either.',
  },
  LimitsStoreNotAllowed: {
    type: 'Degraded',
    status: 'True',
    sentence: 'spec.limitsStore.redis.url is not a limits store the operator is configured to read; it does not connect there, so status.budgets is not updated.',
  },
  PolicyViolation: {
    type: 'Degraded',
    status: 'True',
    sentence: 'The spec asks for something the admin policy does not allow; the operator renders and runs nothing for the endpoint until the spec or the policy changes.',
  },
  RefusedByPolicy: { type: 'Ready', status: 'False', sentence: 'No proxy runs: the admin policy refuses the endpoint (Degraded says why).' },
  NothingToRoll: { type: 'Progressing', status: 'False', sentence: 'No proxy pods are being replaced: none run for the endpoint.' },
  NameConflict: {
    type: 'Degraded',
    status: 'True',
    sentence: "An object with the name of one of the endpoint's children exists and is not the endpoint's; the operator writes none of the endpoint's children while it does. Rename the endpoint or remove the object.",
  },
} as const satisfies Record<string, ReasonEntry>;

/**
 * MESSAGE_LIMIT is the longest condition message the operator writes, in characters: API errors
 * can be long (a whole rejected object), and a condition is read in `kubectl describe` and
 * `kubectl get -o wide`. Longer messages end in an ellipsis (docs/status.md).
 */
export const MESSAGE_LIMIT = 1024;

/**
 * boundedMessage is `message` cut to at most `limit` UTF-16 code units (so as many code points at
 * most, what the API server's maxLength counts), ending in "…" when cut; a surrogate pair is never split.
 */
export function boundedMessage(message: string, limit = MESSAGE_LIMIT): string {
  if (message.length <= limit) return message;
  const head = message.slice(0, limit - 1);
  const last = head.charCodeAt(head.length - 1);
  return `${last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head}…`;
}

/** Reason is any reason in the catalogue. */
export type Reason = keyof typeof REASONS;

/** ReasonFor is the reasons that belong to condition type `T`. */
export type ReasonFor<T extends ConditionType> = {
  [R in Reason]: (typeof REASONS)[R]['type'] extends T ? R : never;
}[Reason];

/** reasonsFor lists the reasons of condition type `type`, in catalogue order. */
export function reasonsFor<T extends ConditionType>(type: T): ReasonFor<T>[] {
  return (Object.keys(REASONS) as Reason[]).filter((r): r is ReasonFor<T> => REASONS[r].type === type);
}
