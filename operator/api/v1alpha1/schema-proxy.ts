import { defaultsOf, type JSONSchemaProps } from './json-schema.ts';
import { QUANTITY_PATTERN } from './patterns.ts';

/** RESERVED_LABELS are the proxy pods' labels the operator owns; its selectors depend on them (docs/architecture.md §6). */
export const RESERVED_LABELS: readonly string[] = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/managed-by',
  'inference.attested.dev/endpoint',
];

/** RESERVED_ANNOTATION_PREFIX marks the pod-template annotations the operator owns (release digest, config hash). */
export const RESERVED_ANNOTATION_PREFIX = 'inference.attested.dev/';

const STRING_MAP = {
  type: 'object',
  maxProperties: 64,
  additionalProperties: { type: 'string', maxLength: 4096 },
} as const satisfies JSONSchemaProps;

// Structural schemas forbid description and type inside anyOf, so the quantity's shape is
// integer-or-string with a pattern, as Kubernetes publishes resource.Quantity.
const QUANTITIES = {
  type: 'object',
  maxProperties: 16,
  additionalProperties: {
    description: 'A quantity such as "250m", "128Mi" or 2.',
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: QUANTITY_PATTERN,
  },
} as const satisfies JSONSchemaProps;

const OPAQUE_LIST_ITEM = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const satisfies JSONSchemaProps;

const tolerations = {
  description: 'Tolerations for the proxy pods (core/v1 Toleration).',
  type: 'array',
  maxItems: 32,
  items: {
    description: 'A core/v1 Toleration; the API server validates it in full when the operator writes the Deployment.',
    type: 'object',
    properties: {
      key: { description: 'The taint key the toleration applies to; empty matches every key (with operator Exists).', type: 'string' },
      operator: { description: 'How key and value are compared: "Exists" or "Equal" (default Equal).', type: 'string' },
      value: { description: 'The taint value the toleration matches (with operator Equal).', type: 'string' },
      effect: { description: 'The taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.', type: 'string' },
      tolerationSeconds: {
        description: 'With effect NoExecute: how long the pod stays bound after the taint appears.',
        type: 'integer',
        format: 'int64',
      },
    },
  },
} as const satisfies JSONSchemaProps;

const podTemplate = {
  description: 'Additions to the proxy Deployment\'s pod template. The operator\'s own labels and annotations always win and cannot be set here.',
  type: 'object',
  properties: {
    annotations: {
      description: `Extra pod annotations. Keys under ${RESERVED_ANNOTATION_PREFIX} are the operator's.`,
      ...STRING_MAP,
      'x-kubernetes-validations': [
        {
          rule: `!self.exists(k, k.startsWith('${RESERVED_ANNOTATION_PREFIX}'))`,
          message: `annotations may not use the operator's prefix ${RESERVED_ANNOTATION_PREFIX}`,
        },
      ],
    },
    labels: {
      description: `Extra pod labels. ${RESERVED_LABELS.join(', ')} are the operator's (its selectors use them).`,
      ...STRING_MAP,
      'x-kubernetes-validations': [
        {
          rule: `!self.exists(k, k in [${RESERVED_LABELS.map((l) => `'${l}'`).join(', ')}])`,
          message: `labels may not set the operator's own labels (${RESERVED_LABELS.join(', ')})`,
        },
      ],
    },
    nodeSelector: { description: 'Node labels the proxy pods must be scheduled on.', ...STRING_MAP },
    tolerations,
    affinity: {
      description: 'Scheduling affinity of the proxy pods (core/v1 Affinity), used as given.',
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    },
    priorityClassName: { description: 'The PriorityClass of the proxy pods.', type: 'string', maxLength: 253 },
    topologySpreadConstraints: {
      description: 'How the proxy pods spread across zones or nodes (core/v1 TopologySpreadConstraint list), used as given.',
      type: 'array',
      maxItems: 8,
      items: { description: 'A core/v1 TopologySpreadConstraint, used as given.', ...OPAQUE_LIST_ITEM },
    },
  },
} as const satisfies JSONSchemaProps;

const proxyProperties = {
  image: {
    description: 'The proxy image; absent means the image the operator was released with. Set it only to test a build.',
    type: 'string',
    minLength: 1,
    maxLength: 1024,
  },
  logLevel: {
    description: 'The proxy\'s log level (default info).',
    type: 'string',
    enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
  },
  resources: {
    description: 'Compute resources of the proxy container (core/v1 ResourceRequirements: requests and limits). Absent means the operator\'s defaults.',
    type: 'object',
    properties: {
      requests: { description: 'The minimum resources, by name (cpu, memory, ephemeral-storage).', ...QUANTITIES },
      limits: { description: 'The maximum resources, by name (cpu, memory, ephemeral-storage).', ...QUANTITIES },
    },
  },
  podTemplate,
} as const satisfies Record<string, JSONSchemaProps>;

/** proxySchema is `spec.proxy`: how the proxy pods run. */
export const proxySchema = {
  description: 'How the proxy pods run.',
  type: 'object',
  default: defaultsOf(proxyProperties),
  properties: proxyProperties,
} as const satisfies JSONSchemaProps;
