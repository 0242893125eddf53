import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, type KubeConfig, type V1ObjectMeta, type V1Secret } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { isNotFound } from '../controller/api-errors.ts';
import { FIELD_MANAGER, LABEL_MANAGED_BY, MANAGED_BY } from '../resources/names.ts';
import type { CertificateStore, StoredCertificates } from './certificate-controller.ts';
import type { WebhookCertificates } from './certificates.ts';
import type { AdmissionReads } from './handler.ts';
import { configurationCurrent, webhookConfigurationFor, type WebhookConfigurationOptions } from './configuration.ts';

const KEYS = { tlsCert: 'tls.crt', tlsKey: 'tls.key', caCert: 'ca.crt', caKey: 'ca.key', bundle: 'ca-bundle.crt', caCreatedAt: 'ca-created-at' } as const;

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

function fromSecret(secret: V1Secret): WebhookCertificates | undefined {
  const d = secret.data ?? {};
  const text = (key: string): string => Buffer.from(d[key] ?? '', 'base64').toString('utf8');
  if ([KEYS.tlsCert, KEYS.tlsKey, KEYS.caCert, KEYS.caKey, KEYS.bundle].some((k) => text(k) === '')) return undefined;
  const bundle = text(KEYS.bundle).split(/(?<=-----END CERTIFICATE-----\n?)/).map((p) => p.trim()).filter(Boolean);
  return {
    ca: { certPem: text(KEYS.caCert), keyPem: text(KEYS.caKey) },
    caCreatedAt: text(KEYS.caCreatedAt) || new Date(0).toISOString(),
    serving: { certPem: text(KEYS.tlsCert), keyPem: text(KEYS.tlsKey) },
    bundle,
  };
}

/**
 * secretStore keeps the certificates in one Secret of the operator's own namespace, by name: the
 * only Secret the operator may touch (docs/architecture.md §5). The chart may create it empty, so the
 * Role needs only get and update on that name; without it the operator creates it.
 */
export function secretStore(kc: KubeConfig, namespace: string, name: string): CertificateStore {
  const core = kc.makeApiClient(CoreV1Api);
  // The labels and annotations of the Secret as last read: a replace keeps them, so a Secret the
  // chart made stays Helm's (Helm deletes only what carries its managed-by label and annotations).
  let owner: Pick<V1ObjectMeta, 'labels' | 'annotations'> = { labels: { [LABEL_MANAGED_BY]: MANAGED_BY } };
  return {
    async read(): Promise<StoredCertificates> {
      try {
        const secret = await core.readNamespacedSecret({ namespace, name });
        owner = { ...(secret.metadata?.labels ? { labels: secret.metadata.labels } : {}), ...(secret.metadata?.annotations ? { annotations: secret.metadata.annotations } : {}) };
        const certificates = fromSecret(secret);
        return { ...(certificates ? { certificates } : {}), ...(secret.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}) };
      } catch (error) {
        if (isNotFound(error)) return {};
        throw error;
      }
    },
    async write(c: WebhookCertificates, resourceVersion?: string): Promise<void> {
      const body: V1Secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        // Opaque, as the chart creates it: the type of a Secret cannot change, and this one holds
        // the CA's key and bundle beside the serving pair.
        type: 'Opaque',
        metadata: { name, namespace, ...owner, ...(resourceVersion ? { resourceVersion } : {}) },
        data: {
          [KEYS.tlsCert]: b64(c.serving.certPem), [KEYS.tlsKey]: b64(c.serving.keyPem),
          [KEYS.caCert]: b64(c.ca.certPem), [KEYS.caKey]: b64(c.ca.keyPem),
          [KEYS.bundle]: b64(c.bundle.join('\n')), [KEYS.caCreatedAt]: b64(c.caCreatedAt),
        },
      };
      if (resourceVersion) await core.replaceNamespacedSecret({ namespace, name, body });
      else await core.createNamespacedSecret({ namespace, body });
    },
  };
}

/** ConfigurationPublisher writes the MutatingWebhookConfiguration and tells whether the live one is still as written. */
export interface ConfigurationPublisher {
  /** publish applies the configuration (server-side apply) with the given CA bundle. */
  publish(caBundlePem: string): Promise<void>;
  /** current reads the live configuration (one GET) and compares it with what publish would apply. */
  current(caBundlePem: string): Promise<boolean>;
}

/** publishConfiguration binds the configuration's publisher to the API server. */
export function publishConfiguration(kc: KubeConfig, options: WebhookConfigurationOptions): ConfigurationPublisher {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  return {
    async publish(caBundlePem) {
      await objects.patch(webhookConfigurationFor(options, caBundlePem), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    },
    async current(caBundlePem) {
      try {
        return configurationCurrent(webhookConfigurationFor(options, caBundlePem), await admission.readMutatingWebhookConfiguration({ name: options.name }));
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
  };
}

/** clusterReads are the handler's two reads from the API server: a namespace's metadata and the endpoints in it. */
export function clusterReads(kc: KubeConfig): AdmissionReads {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    readNamespace: async (name) => (await core.readNamespace({ name })).metadata ?? {},
    listEndpoints: async (namespace) => ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace })) as { items: InferenceEndpoint[] }).items,
  };
}
