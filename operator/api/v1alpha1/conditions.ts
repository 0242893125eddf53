import type { ConditionStatus } from './types.ts';

/** ConditionType names the conditions an InferenceEndpoint reports. */
export const ConditionType = {
  /** Ready: the proxy pods answer (docs/architecture.md §2: readiness is not attestation). */
  Ready: 'Ready',
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
  ProxyPodsReady: { type: 'Ready', status: 'True', sentence: 'Every desired proxy pod is ready to answer.' },
  WaitingForPods: { type: 'Ready', status: 'False', sentence: 'Fewer proxy pods are ready than spec.replicas asks for.' },
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
  AttestationFailed: {
    type: 'Attested',
    status: 'False',
    sentence: 'The upstream failed verification; proxies refuse inference requests until it verifies.',
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

  Healthy: { type: 'Degraded', status: 'False', sentence: 'Nothing needs attention.' },
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
