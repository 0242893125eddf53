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

// A pod annotation that names an endpoint (anything but an opt-out); CEL over the admitted object.
const ANNOTATED = `has(object.metadata.annotations) && '${ANNOTATION_INJECT}' in object.metadata.annotations && !(object.metadata.annotations['${ANNOTATION_INJECT}'] in ['false', 'disabled'])`;

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
    // Outside opted-in namespaces the API server calls us only for pods that asked (matchConditions,
    // GA in Kubernetes 1.30), so an outage never touches anyone else's pods.
    ...(namespaceOptedIn ? {} : { matchConditions: [{ name: 'pod-asks-for-injection', expression: ANNOTATED }] }),
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
 * namespaces (every pod there, so opt-outs are recorded too) and one for pods that opt in by
 * annotation elsewhere. Both use `failurePolicy` (docs/adr/0006-webhook-failure-policy.md).
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
