import type { JSONSchemaProps } from './json-schema.ts';
import { CONDITION_REASON_PATTERN, CONDITION_TYPE_PATTERN, DIGEST_PATTERN } from './patterns.ts';

const TIME = { type: 'string', format: 'date-time' } as const satisfies JSONSchemaProps;
const DIGEST = { type: 'string', pattern: DIGEST_PATTERN } as const satisfies JSONSchemaProps;
const GENERATION = { type: 'integer', format: 'int64', minimum: 0 } as const satisfies JSONSchemaProps;

/** conditionSchema is metav1.Condition, as controller-gen publishes it. */
const conditionSchema = {
  description: 'One aspect of the endpoint\'s state (metav1.Condition).',
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      description: 'The condition\'s type: Available, Ready, Attested, Progressing or Degraded.',
      type: 'string',
      maxLength: 316,
      pattern: CONDITION_TYPE_PATTERN,
    },
    status: { description: 'True, False or Unknown.', type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { description: 'The .metadata.generation the condition was computed from.', ...GENERATION },
    lastTransitionTime: { description: 'When status last changed.', ...TIME },
    reason: {
      description: 'A CamelCase code for the last transition, for machines (e.g. PinnedDigestMismatch).',
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      pattern: CONDITION_REASON_PATTERN,
    },
    message: { description: 'What happened, for humans (the operator writes at most 1024 characters).', type: 'string', maxLength: 32768 },
  },
} as const satisfies JSONSchemaProps;

const AMOUNT = { type: 'string', maxLength: 32, pattern: '^-?[0-9]+\\.[0-9]{6}$' } as const satisfies JSONSchemaProps;

/** budgetStatusSchema is one namespace budget window as the operator last read it from the limits store. */
const budgetStatusSchema = {
  description: 'One spend budget window of the namespace (spec.budgets.namespace), as the operator last read it.',
  type: 'object',
  required: ['window', 'budget', 'spent', 'resetsAt'],
  properties: {
    window: { description: 'day or month (UTC calendar).', type: 'string', enum: ['day', 'month'] },
    budget: { description: 'The budget, in the price table\'s currency, with six decimals.', ...AMOUNT },
    spent: { description: 'What the namespace has spent in this window so far, with six decimals (may exceed the budget by requests in flight).', ...AMOUNT },
    percentUsed: { description: 'spent as a whole percentage of budget, rounded down.', type: 'integer', format: 'int64', minimum: 0 },
    resetsAt: { description: 'When the window ends and spend starts again from zero.', ...TIME },
  },
} as const satisfies JSONSchemaProps;

/** statusSchema is `status`, written by the operator through the status subresource. */
export const statusSchema = {
  description: 'The observed state of the endpoint, written by the operator.',
  type: 'object',
  properties: {
    observedGeneration: { description: 'The last .metadata.generation whose children the operator wrote without error (it stays behind while a write fails; Degraded says why).', ...GENERATION },
    conditions: {
      description:
        'Available: Ready, Attested and routable; wait for this one (docs/status.md). ' +
        'Ready: the current template is rolled out and every desired proxy pod is ready. Attested: the upstream verified (reason says how, or why not). ' +
        'Progressing: proxy pods are being replaced. Degraded: something needs the user (missing Secret, invalid spec, stuck rollout). ' +
        'observedGeneration (here and on each condition) is the generation whose children were all written.',
      type: 'array',
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: conditionSchema,
    },
    readyReplicas: { description: 'How many proxy pods are ready.', type: 'integer', format: 'int32', minimum: 0 },
    replicas: { description: 'How many proxy pods the Deployment has (the scale subresource reports it).', type: 'integer', format: 'int32', minimum: 0 },
    selector: { description: 'The label selector of the proxy pods, as a string (the scale subresource reports it to HorizontalPodAutoscalers).', type: 'string', maxLength: 1024 },
    url: { description: 'The OpenAI base URL clients in the namespace use (the proxy Service).', type: 'string', maxLength: 2048 },
    budgets: {
      description: 'The namespace\'s spend budget windows, read from spec.limitsStore about once a minute.',
      type: 'array',
      maxItems: 2,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['window'],
      items: budgetStatusSchema,
    },
    attestation: {
      description: 'What the operator last verified about the upstream.',
      type: 'object',
      properties: {
        trust: {
          description: 'How the upstream was last established: Verified, Development (development key), Unattested (openai-compatible) or Delegated (privatemode: privatemode-proxy attests).',
          type: 'string',
          enum: ['Verified', 'Development', 'Unattested', 'Delegated'],
        },
        releaseDigest: { description: 'The digest of the release the upstream runs.', ...DIGEST },
        measurementFingerprint: { description: 'The fingerprint of the enclave\'s measured registers.', type: 'string', maxLength: 256 },
        verifiedAt: { description: 'When the upstream last verified.', ...TIME },
        lastRollout: {
          description: 'The last time the operator rolled the proxy pods because the attested release changed (policy Follow).',
          type: 'object',
          required: ['at', 'reason'],
          properties: {
            at: { description: 'When the rollout started.', ...TIME },
            reason: { description: 'Why the pods were rolled, e.g. ReleaseChanged.', type: 'string', maxLength: 1024 },
            fromDigest: { description: 'The release digest before the change.', ...DIGEST },
            toDigest: { description: 'The release digest after the change.', ...DIGEST },
          },
        },
      },
    },
  },
} as const satisfies JSONSchemaProps;
