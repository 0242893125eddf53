import { builtInPolicy } from '../../../operator/policy/model.ts';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AdmissionregistrationV1Api, CustomObjectsApi, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import pino from 'pino';
import { inject } from 'vitest';
import type { KeyPairPem } from '../../../operator/tls/pki.ts';
import { Registry } from 'prom-client';
import { GROUP, PLURAL, VERSION } from '../../../operator/api/v1alpha1/types.ts';
import type { FailurePolicy } from '../../../operator/webhook/configuration.ts';
import type { FailureMode } from '../../../operator/webhook/handler.ts';
import { startWebhook, type RunningWebhook } from '../../../operator/webhook/start.ts';
import { freePort, waitFor } from '../../harness/processes.ts';
import { createNamespace, type TestCluster } from '../cluster.ts';
import { createEndpoint } from '../operator/support.ts';

/** RecordedEvent is one Event the webhook asked for, as the test's recorder saw it. */
export interface RecordedEvent {
  readonly regarding: KubernetesObject;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
}

/** TestWebhook is the real webhook (server, certificates, configuration) running in the test process. */
export interface TestWebhook extends RunningWebhook {
  readonly port: number;
  readonly registry: Registry;
  readonly events: RecordedEvent[];
  readonly system: string;
  readonly configurationName: string;
  /** remove stops the webhook and deletes its configuration and namespace. */
  remove(): Promise<void>;
}

/** apiServerClientAuth is what the webhook trusts: the CA of the API server's webhook client certificate and its name (global setup). */
export function apiServerClientAuth(): { caFile: string; allowedNames: string[] } {
  const client = inject('webhookClient');
  return { caFile: client.caFile, allowedNames: [client.commonName] };
}

/** apiServerClient is the API server's own client certificate for webhooks, for a test that calls the webhook as the API server would. */
export function apiServerClient(): KeyPairPem {
  const client = inject('webhookClient');
  return { certPem: readFileSync(client.certFile, 'utf8'), keyPem: readFileSync(client.keyFile, 'utf8') };
}

/**
 * startTestWebhook runs the webhook on a loopback port with `clientConfig.url`: the API server runs
 * on this machine, so it reaches 127.0.0.1. Each test file uses its own configuration name and
 * system namespace, and removes both. The webhook requires the API server's client certificate
 * unless `clientAuth` is false.
 */
export async function startTestWebhook(cluster: TestCluster, options: { failureMode?: FailureMode; failurePolicy?: FailurePolicy; name: string; certificateIntervalMs?: number; propagationMs?: number; clientAuth?: boolean; drainMs?: number }): Promise<TestWebhook> {
  const port = await freePort();
  const system = await createNamespace(cluster.core, `${options.name}-system`);
  const registry = new Registry();
  const events: RecordedEvent[] = [];
  const configurationName = `${options.name}-${system.name.slice(-6)}`;
  const running = await startWebhook(
    { kc: cluster.kc, logger: pino({ level: 'silent' }), registry, event: (regarding, type, reason, message) => events.push({ regarding, type, reason, message }) },
    {
      host: '127.0.0.1',
      port,
      client: { url: `https://127.0.0.1:${String(port)}` },
      namespace: system.name,
      secretName: 'attested-inference-webhook-tls',
      configurationName,
      failureMode: options.failureMode ?? 'reject',
      failurePolicy: options.failurePolicy ?? 'Fail',
      image: { image: 'registry.local/attested-inference-proxy:test', pullPolicy: 'IfNotPresent' },
      // As an operator started with --allow-development-trust and no --policy-file (the endpoints trust the simulator).
      policy: { policy: builtInPolicy(true), proxyImage: 'registry.local/attested-inference-proxy:test', allowDevelopmentTrust: true },
      ...(options.propagationMs !== undefined ? { rotation: { propagationMs: options.propagationMs } } : {}),
      ...(options.certificateIntervalMs !== undefined ? { certificateIntervalMs: options.certificateIntervalMs } : {}),
      ...(options.clientAuth === false ? {} : { clientAuth: apiServerClientAuth() }),
      // Tests stop webhooks often; a drain is asked for where it is under test.
      drainMs: options.drainMs ?? 0,
    },
  );
  return {
    ...running,
    port,
    registry,
    events,
    system: system.name,
    configurationName,
    async remove(): Promise<void> {
      await running.stop();
      await cluster.kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: configurationName }).catch(() => undefined);
      await system.remove();
    },
  };
}

/** appNamespace makes a namespace, opted in by label unless `optedIn` is false, and waits for its default ServiceAccount. */
export async function appNamespace(cluster: TestCluster, prefix: string, p: { optedIn?: boolean; annotations?: Record<string, string> } = {}): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const labels: Record<string, string> = p.optedIn === false ? {} : { 'inference.attested.dev/injection': 'enabled' };
  await cluster.core.createNamespace({ body: { metadata: { name, labels, annotations: p.annotations ?? {} } } });
  const ns = { name, remove: async (): Promise<void> => { await cluster.core.deleteNamespace({ name }); } };
  await waitFor('the default ServiceAccount', async () => Boolean(await cluster.core.readNamespacedServiceAccount({ namespace: ns.name, name: 'default' })), { timeoutMs: 30_000, intervalMs: 100 });
  return ns;
}

/** readyEndpoint creates an InferenceEndpoint and marks it reconciled (status.observedGeneration), as the operator would. */
export async function readyEndpoint(cluster: TestCluster, namespace: string, name: string, ready = true): Promise<void> {
  await createEndpoint(cluster, namespace, name, { provider: 'tinfoil', apiKeySecretRef: { name: 'provider-key' } });
  if (ready) await markReconciled(cluster, namespace, name);
}

/** markReconciled sets an InferenceEndpoint's status.observedGeneration to its generation, as the operator would. */
export async function markReconciled(cluster: TestCluster, namespace: string, name: string): Promise<void> {
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  const current = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name })) as { metadata: { generation: number } };
  await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: [{ op: 'add', path: '/status', value: { observedGeneration: current.metadata.generation } }] });
}

/** waitForInjection waits until the API server calls the new configuration: a dry-run pod in `namespace` comes back annotated. */
export async function waitForInjection(cluster: TestCluster, namespace: string, pod: V1Pod): Promise<void> {
  await waitFor('the API server to call the webhook', async () => {
    const created = await cluster.core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' });
    return created.metadata?.annotations?.['inference.attested.dev/status'] !== undefined;
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

/** metricValue reads one sample of the injections counter. */
export async function metricValue(registry: Registry, result: string, reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('attested_inference_webhook_injections_total')?.get();
  return metric?.values.find((v) => v.labels.result === result && v.labels.reason === reason)?.value ?? 0;
}

/** podWith is a minimal app pod with the given annotations; the service-account token is off so volumes stay predictable. */
export function podWith(name: string, annotations: Record<string, string> = {}, spec: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod {
  return { metadata: { name, annotations }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.local/app:1' }], ...spec } };
}

/** failureOf resolves to the error message of a call expected to fail ('' when it succeeded). */
export async function failureOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}
