import type { V1MutatingWebhook, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { ANNOTATION_INJECT, LABEL_INJECTION, LABEL_NAME, PROXY_APP_NAME } from '../resources/names.ts';
import { MUTATE_PODS_PATH } from './server.ts';

/** WebhookClient is how the API server reaches the webhook: the operator's Service, or a URL (local testing). */
export type WebhookClient = { readonly url: string } | { readonly service: { readonly name: string; readonly namespace: string; readonly port: number } };

/** FailurePolicy is the API server's answer when it cannot reach the webhook (admissionregistration.k8s.io/v1). */
export type FailurePolicy = 'Fail' | 'Ignore';
export const FAILURE_POLICIES: readonly FailurePolicy[] = ['Fail', 'Ignore'];

/** WebhookConfigurationOptions shape the MutatingWebhookConfiguration the operator keeps current. */
export interface WebhookConfigurationOptions {
  readonly name: string;
  readonly client: WebhookClient;
  /** operatorNamespace is never matched: the webhook must not gate the pods that serve it. */
  readonly operatorNamespace: string;
  readonly failurePolicy: FailurePolicy;
}

/** EXCLUDED_NAMESPACES are never matched besides the operator's own (control-plane pods must never wait on us). */
export const EXCLUDED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

// CEL over the admitted object. An explicit opt-out (the values decision.ts optIn reads as "out"):
const OPTED_OUT = `has(object.metadata.annotations) && '${ANNOTATION_INJECT}' in object.metadata.annotations && object.metadata.annotations['${ANNOTATION_INJECT}'] in ['false', 'disabled']`;
// A pod annotation that asks for injection (anything but an opt-out).
const ANNOTATED = `has(object.metadata.annotations) && '${ANNOTATION_INJECT}' in object.metadata.annotations && !(object.metadata.annotations['${ANNOTATION_INJECT}'] in ['false', 'disabled'])`;

/**
 * matchConditionsFor keeps the API server from calling us for pods that need nothing from us
 * (matchConditions, GA in Kubernetes 1.30): in an opted-in namespace every pod but an explicit
 * opt-out; elsewhere only pods that ask by annotation. A pod the API server does not send is
 * admitted whatever the failurePolicy, so an outage of the webhook never touches them
 * (docs/adr/0016-webhook-under-change.md).
 */
function matchConditionsFor(namespaceOptedIn: boolean): V1MutatingWebhook['matchConditions'] {
  return namespaceOptedIn
    ? [{ name: 'pod-has-not-opted-out', expression: `!(${OPTED_OUT})` }]
    : [{ name: 'pod-asks-for-injection', expression: ANNOTATED }];
}

function webhook(name: string, options: WebhookConfigurationOptions, caBundle: string, namespaceOptedIn: boolean): V1MutatingWebhook {
  const client = 'url' in options.client
    ? { url: `${options.client.url.replace(/\/$/, '')}${MUTATE_PODS_PATH}` }
    : { service: { ...options.client.service, path: MUTATE_PODS_PATH } };
  return {
    name,
    clientConfig: { ...client, caBundle },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    namespaceSelector: {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...EXCLUDED_NAMESPACES, options.operatorNamespace] },
        { key: LABEL_INJECTION, operator: namespaceOptedIn ? 'In' : 'NotIn', values: ['enabled'] },
      ],
    },
    // An endpoint's own proxy pods are never sent to us, so they start even while the webhook is down.
    objectSelector: { matchExpressions: [{ key: LABEL_NAME, operator: 'NotIn', values: [PROXY_APP_NAME] }] },
    matchConditions: matchConditionsFor(namespaceOptedIn),
    failurePolicy: options.failurePolicy,
    matchPolicy: 'Equivalent',
    // Events and metrics are the only side effects, and the handler skips them for dry runs.
    sideEffects: 'NoneOnDryRun',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 5,
    // Webhooks that run after us may add containers or volumes; IfNeeded calls us again, and the
    // already-injected check makes that a no-op unless they broke the sidecar's isolation
    // (isolation.ts), which refuses the pod.
    reinvocationPolicy: 'IfNeeded',
  };
}

/**
 * webhookConfigurationFor is the MutatingWebhookConfiguration: one webhook for opted-in
 * namespaces (every pod there but explicit opt-outs) and one for pods that opt in by annotation
 * elsewhere. Both use `failurePolicy` (docs/adr/0006-webhook-failure-policy.md).
 */
export function webhookConfigurationFor(options: WebhookConfigurationOptions, caBundlePem: string): V1MutatingWebhookConfiguration {
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    // No labels: whoever installed the configuration owns them. Helm deletes only objects that still
    // carry its own `app.kubernetes.io/managed-by: Helm`; a label applied here would orphan the
    // configuration (failurePolicy Fail, pointing at nothing) on `helm uninstall`.
    metadata: { name: options.name },
    webhooks: [
      webhook('namespaces.sidecar.inference.attested.dev', options, caBundle, true),
      webhook('pods.sidecar.inference.attested.dev', options, caBundle, false),
    ],
  };
}

/** covers says whether `live` holds every field `desired` sets, with the same values; fields the API server defaults are ignored. */
function covers(desired: unknown, live: unknown): boolean {
  if (Array.isArray(desired)) return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => covers(d, live[i]));
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object') return false;
    return Object.entries(desired).every(([k, v]) => v === undefined || covers(v, (live as Record<string, unknown>)[k]));
  }
  return desired === live;
}

/**
 * configurationCurrent says whether the live MutatingWebhookConfiguration still carries every
 * webhook as the operator applies it, caBundle included. Someone else's write (a re-applied chart,
 * `helm upgrade --force`, a hand edit) can blank the caBundle or change a field; the certificate
 * controller then applies it again (docs/adr/0016-webhook-under-change.md).
 */
export function configurationCurrent(desired: V1MutatingWebhookConfiguration, live: V1MutatingWebhookConfiguration | undefined): boolean {
  if (live === undefined) return false;
  return (desired.webhooks ?? []).every((want) => {
    const have = live.webhooks?.find((w) => w.name === want.name);
    return have !== undefined && covers(want, have);
  });
}
