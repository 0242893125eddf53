import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { KeyPairPem } from '../tls/pki.ts';
import { clientNameAllowed } from './client-auth.ts';
import { reviewResponse, type AdmissionRequest, type AdmissionResponse, type AdmissionReview } from './admission.ts';

/** MUTATE_PODS_PATH is where the API server sends pod reviews (clientConfig.service.path or the URL's path). */
export const MUTATE_PODS_PATH = '/mutate-pods';

/** WebhookServerDeps: the admission logic (a plain function) and a logger. */
export interface WebhookServerDeps {
  readonly admit: (request: AdmissionRequest) => Promise<AdmissionResponse>;
  readonly logger: Logger;
  /** draining is set by the server itself once drain() was called. */
  readonly draining?: () => boolean;
}

/** ServerClientAuth: the CA bundle (PEM) a caller's certificate must chain to, and the names it must carry (empty: any). */
export interface ServerClientAuth {
  readonly caPem: string;
  readonly allowedNames: readonly string[];
}

/** WebhookServerOptions: where to listen, the first serving certificate, the body limit and, when set, the caller's authentication. */
export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  readonly certificate: KeyPairPem;
  /** bodyLimitBytes bounds a review; the API server caps objects near 3 MiB (etcd's request limit). */
  readonly bodyLimitBytes?: number;
  /** clientAuth makes the handshake require a client certificate from `caPem` (the API server's, docs/sidecar-injection.md). */
  readonly clientAuth?: ServerClientAuth;
}

/** WebhookServer is a running HTTPS admission server. */
export interface WebhookServer {
  readonly port: number;
  /** reload swaps the serving certificate for new connections; open connections keep theirs, so no admission is dropped. */
  reload(certificate: KeyPairPem): void;
  /**
   * drain keeps answering but ends each connection after its answer (`Connection: close`), so
   * callers that keep connections alive (the API server does) open new ones, which the Service
   * routes to a replica that is not going away (docs/adr/0016-webhook-under-change.md).
   */
  drain(): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `review larger than ${String(limit)} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function decode(body: Buffer): AdmissionRequest {
  let review: AdmissionReview;
  try {
    review = JSON.parse(body.toString('utf8')) as AdmissionReview;
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  if (review.kind !== 'AdmissionReview' || typeof review.request?.uid !== 'string') throw new HttpError(400, 'body is not an AdmissionReview with a request');
  // The API server sets the object's namespace to the request's before admission and refuses a
  // mismatch (apiserver endpoints/handlers/create.go, EnsureObjectNamespaceMatchesRequestNamespace),
  // so a review where they differ was not written by it.
  const objectNamespace = (review.request.object as { metadata?: { namespace?: unknown } } | undefined)?.metadata?.namespace;
  if (objectNamespace !== undefined && objectNamespace !== review.request.namespace) throw new HttpError(400, 'request.namespace and request.object.metadata.namespace disagree');
  return review.request;
}

/** callerAllowed: the TLS layer verified the chain already; the certificate must also name an allowed caller. */
function callerAllowed(request: IncomingMessage, clientAuth: ServerClientAuth | undefined): boolean {
  if (!clientAuth) return true;
  const socket = request.socket as TLSSocket;
  return socket.authorized && clientNameAllowed(socket.getPeerCertificate(), clientAuth.allowedNames);
}

async function handle(deps: WebhookServerDeps, options: WebhookServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (deps.draining?.() === true) response.setHeader('connection', 'close');
  if (!callerAllowed(request, options.clientAuth)) {
    // Read nothing of the body and answer nothing of the cluster.
    send(response, 403, 'client certificate does not name an allowed caller\n');
    return;
  }
  const path = new URL(request.url ?? '/', 'https://webhook').pathname;
  if (request.method === 'GET' && path === '/healthz') {
    send(response, 200, 'ok\n');
    return;
  }
  if (path !== MUTATE_PODS_PATH || request.method !== 'POST') {
    send(response, path === MUTATE_PODS_PATH ? 405 : 404, path === MUTATE_PODS_PATH ? 'method not allowed\n' : 'not found\n');
    return;
  }
  const review = decode(await readBody(request, options.bodyLimitBytes ?? 4 * 1024 * 1024));
  send(response, 200, reviewResponse(await deps.admit(review)));
}

/** secureContext is the TLS context for a serving certificate; the client CA is part of it, so every reload carries it again. */
function secureContext(certificate: KeyPairPem, clientAuth: ServerClientAuth | undefined): { key: string; cert: string; minVersion: 'TLSv1.2'; ca?: string } {
  return { key: certificate.keyPem, cert: certificate.certPem, minVersion: 'TLSv1.2', ...(clientAuth ? { ca: clientAuth.caPem } : {}) };
}

/**
 * startWebhookServer serves admission reviews over TLS. A failed review answers 500, so the API
 * server applies the webhook's failurePolicy instead of a half-made decision. With `clientAuth`,
 * the handshake refuses a caller without a certificate from its CA (requestCert and
 * rejectUnauthorized), and a request whose certificate names no allowed caller gets 403.
 */
export async function startWebhookServer(given: WebhookServerDeps, options: WebhookServerOptions): Promise<WebhookServer> {
  let draining = false;
  const deps: WebhookServerDeps = { ...given, draining: () => draining };
  const tls = { ...secureContext(options.certificate, options.clientAuth), requestCert: options.clientAuth !== undefined, rejectUnauthorized: options.clientAuth !== undefined };
  const server: Server = createServer(tls, (request, response) => {
    handle(deps, options, request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) deps.logger.error({ err: error }, 'admission review failed');
      if (!response.headersSent) send(response, status, `${(error as Error).message}\n`);
      else response.destroy();
    });
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    reload: (certificate) => server.setSecureContext(secureContext(certificate, options.clientAuth)),
    drain: () => {
      draining = true;
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5000).unref();
    }),
  };
}
