import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { EndpointPolicy } from '../policy/admin-policy.ts';
import type { ProxyImage } from '../resources/container.ts';
import { CertificateController } from './certificate-controller.ts';
import type { ClientAuth } from './client-auth.ts';
import type { RotationPolicy, ServingIdentity } from './certificates.ts';
import type { FailurePolicy, WebhookClient } from './configuration.ts';
import { admissionCache } from './cache.ts';
import { admitPod, type FailureMode, type InjectionOutcome } from './handler.ts';
import { clusterReads, publishConfiguration, secretStore } from './kubernetes.ts';
import { REASONS, statusAnnotationValue } from './reasons.ts';
import { startWebhookServer, type ServerClientAuth, type WebhookServer } from './server.ts';

/** WebhookOptions are the webhook's settings (operator/config.ts reads them from flags). */
export interface WebhookOptions {
  readonly host: string;
  readonly port: number;
  readonly client: WebhookClient;
  /** namespace is the operator's own: it holds the certificate Secret and is never matched. */
  readonly namespace: string;
  readonly secretName: string;
  readonly configurationName: string;
  readonly failureMode: FailureMode;
  readonly failurePolicy: FailurePolicy;
  readonly image: ProxyImage;
  /** policy is the admin policy endpoints must meet to be injected (operator/policy/). */
  readonly policy?: EndpointPolicy;
  readonly rotation?: Partial<RotationPolicy>;
  /** certificateIntervalMs is how often the Secret and the live configuration are checked (DEFAULT_CERTIFICATE_INTERVAL_MS). */
  readonly certificateIntervalMs?: number;
  /**
   * drainMs is how long a stopping webhook keeps answering after it turned not ready
   * (DEFAULT_DRAIN_MS): longer than the Service takes to stop routing to it.
   */
  readonly drainMs?: number;
  /** namespaces are the operator's (empty: all); the webhook caches only their endpoints and namespaces. */
  readonly namespaces?: readonly string[];
  /**
   * clientAuth makes the webhook accept only the API server's client certificate. Without it any
   * pod that reaches the port can send reviews, so admission writes no Events (docs/sidecar-injection.md, "Webhook security").
   */
  readonly clientAuth?: ClientAuth;
}

/** EventWriter records an Event (the operator's aggregating EventRecorder fits). */
export type EventWriter = (object: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string) => void;

/** WebhookDeps are the webhook's collaborators. */
export interface WebhookDeps {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly event: EventWriter;
}

/** RunningWebhook is a started webhook: its server, its certificate controller, its readiness and how to stop it. */
export interface RunningWebhook {
  readonly server: WebhookServer;
  readonly certificates: CertificateController;
  /** ready is true while the webhook serves and is not draining; the operator's /readyz includes it. */
  ready(): boolean;
  /** stop drains (not ready, `drainMs` of answers, each connection closed after its answer), then closes. */
  stop(): Promise<void>;
}

/** DEFAULT_DRAIN_MS outlasts an EndpointSlice update reaching kube-proxy on every node (seconds) and the readiness probe's failure (3 × 5 s would be 15 s; a terminating pod is unready at once). */
export const DEFAULT_DRAIN_MS = 15_000;

/** DEFAULT_CERTIFICATE_INTERVAL_MS is how often the Secret and the live configuration are checked: one GET of each. */
export const DEFAULT_CERTIFICATE_INTERVAL_MS = 60_000;

const EVENT_REASONS = { injected: 'SidecarInjected', skipped: 'SidecarInjectionSkipped', rejected: 'SidecarInjectionRejected' } as const;

/** servingIdentity names the serving certificate after how the API server reaches the webhook. */
export function servingIdentity(client: WebhookClient): ServingIdentity {
  if ('url' in client) {
    const host = new URL(client.url).hostname.replace(/^\[|\]$/g, '');
    return isIP(host) ? { dnsNames: [], ipAddresses: [host] } : { dnsNames: [host], ipAddresses: [] };
  }
  const { name, namespace } = client.service;
  return { dnsNames: [`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`], ipAddresses: [] };
}

/**
 * reporter logs and counts every outcome; it records Events only when `events` is true (the caller
 * is authenticated), since an Event's text comes from the review (owner and pod names) and an
 * unauthenticated caller could otherwise write Events with its own text into any namespace.
 */
function reporter(deps: WebhookDeps, events: boolean): (outcome: InjectionOutcome) => void {
  const injections = new Counter({ name: 'attested_inference_webhook_injections_total', help: 'Sidecar injection decisions, by result and reason code (docs/sidecar-injection.md).', labelNames: ['result', 'reason'], registers: [deps.registry] });
  const logger = deps.logger.child({ component: 'webhook' });
  return (o) => {
    logger.info({ namespace: o.namespace, pod: o.pod, endpoint: o.endpoint, result: o.result, reason: o.reason, dryRun: o.dryRun }, 'sidecar injection decided');
    // sideEffects: NoneOnDryRun — a dry run leaves no metric and no Event.
    if (o.dryRun) return;
    injections.inc({ result: o.result, reason: o.reason });
    if (!events || o.reason === 'not-opted-in') return;
    const type = o.result === 'injected' ? 'Normal' : REASONS[o.reason].eventType;
    deps.event(o.regarding, o.result === 'rejected' ? 'Warning' : type, EVENT_REASONS[o.result], `${statusAnnotationValue(o.reason)}: ${o.message} (pod ${o.pod})`);
  };
}

/** loadClientAuth reads the trusted client CA bundle; a missing or certificate-less file stops the start (fail closed, never silently open). */
export async function loadClientAuth(settings: ClientAuth): Promise<ServerClientAuth> {
  let caPem: string;
  try {
    caPem = await readFile(settings.caFile, 'utf8');
  } catch (error) {
    throw new Error(`--webhook-client-ca-file ${JSON.stringify(settings.caFile)} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`--webhook-client-ca-file ${JSON.stringify(settings.caFile)} holds no PEM certificate`);
  return { caPem, allowedNames: settings.allowedNames };
}

/**
 * startWebhook starts sidecar injection: the caches and certificates first (read or made, not yet
 * published), then the HTTPS server, then the MutatingWebhookConfiguration with the CA bundle, so
 * the API server is never pointed at a webhook that is not listening or cannot answer.
 */
export async function startWebhook(deps: WebhookDeps, options: WebhookOptions): Promise<RunningWebhook> {
  const clientAuth = options.clientAuth ? await loadClientAuth(options.clientAuth) : undefined;
  if (!clientAuth) deps.logger.warn('webhook client authentication is off (no --webhook-client-ca-file): any pod that reaches the webhook port can send reviews; admission writes no Events');
  const report = reporter(deps, clientAuth !== undefined);
  const live = clusterReads(deps.kc);
  const cache = admissionCache({ kc: deps.kc, logger: deps.logger, live }, options.namespaces ?? []);
  cache.start();
  const server: { current?: WebhookServer } = {};
  const configuration = publishConfiguration(deps.kc, { name: options.configurationName, client: options.client, operatorNamespace: options.namespace, failurePolicy: options.failurePolicy });
  const certificates = new CertificateController({
    store: secretStore(deps.kc, options.namespace, options.secretName),
    publish: (bundle) => configuration.publish(bundle),
    published: (bundle) => configuration.current(bundle),
    serve: (pair) => server.current?.reload(pair),
    logger: deps.logger,
  }, { identity: servingIdentity(options.client), ...(options.rotation ? { policy: options.rotation } : {}), intervalMs: options.certificateIntervalMs ?? DEFAULT_CERTIFICATE_INTERVAL_MS });
  const first = await certificates.prepare();
  await cache.waitForSync();
  server.current = await startWebhookServer({
    admit: (request) => admitPod(request, { ...cache.reads, confirm: live, report }, { image: options.image, failureMode: options.failureMode, ...(options.policy ? { policy: options.policy } : {}) }),
    logger: deps.logger,
  }, { host: options.host, port: options.port, certificate: first.serving, ...(clientAuth ? { clientAuth } : {}) });
  await certificates.start();
  deps.logger.info({ port: server.current.port, failureMode: options.failureMode, failurePolicy: options.failurePolicy, clientAuth: clientAuth !== undefined, clientNames: clientAuth?.allowedNames ?? [] }, 'sidecar injection webhook started');
  return running(server.current, certificates, { logger: deps.logger, drainMs: options.drainMs ?? DEFAULT_DRAIN_MS, stopCache: () => cache.stop() });
}

/**
 * running is the started webhook's handle. Stopping drains first, as a Kubernetes server should on
 * SIGTERM: report not ready (the operator's readiness probe fails and a terminating pod leaves the
 * Service's endpoints), keep answering for `drainMs` while the API server's connections move to
 * the other replicas (each answer now closes its connection), then close. Stopping at once made
 * every operator rollout refuse pod creations under failurePolicy Fail
 * (docs/adr/0016-webhook-under-change.md).
 */
function running(server: WebhookServer, certificates: CertificateController, p: { logger: Logger; drainMs: number; stopCache: () => Promise<void> }): RunningWebhook {
  let draining = false;
  let stopped: Promise<void> | undefined;
  return {
    server,
    certificates,
    ready: () => !draining,
    stop(): Promise<void> {
      stopped ??= (async () => {
        draining = true;
        certificates.stop();
        server.drain();
        p.logger.info({ drainMs: p.drainMs }, 'webhook draining: not ready, still answering');
        await new Promise((resolve) => setTimeout(resolve, p.drainMs));
        await server.close();
        await p.stopCache();
      })();
      return stopped;
    },
  };
}
