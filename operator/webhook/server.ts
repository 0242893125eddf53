import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { KeyPairPem } from '../tls/pki.ts';
import { reviewResponse, type AdmissionRequest, type AdmissionResponse, type AdmissionReview } from './admission.ts';

/** MUTATE_PODS_PATH is where the API server sends pod reviews (clientConfig.service.path or the URL's path). */
export const MUTATE_PODS_PATH = '/mutate-pods';

/** WebhookServerDeps: the admission logic (a plain function) and a logger. */
export interface WebhookServerDeps {
  readonly admit: (request: AdmissionRequest) => Promise<AdmissionResponse>;
  readonly logger: Logger;
}

/** WebhookServerOptions: where to listen, the first serving certificate, and the body limit. */
export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  readonly certificate: KeyPairPem;
  /** bodyLimitBytes bounds a review; the API server caps objects near 3 MiB (etcd's request limit). */
  readonly bodyLimitBytes?: number;
}

/** WebhookServer is a running HTTPS admission server. */
export interface WebhookServer {
  readonly port: number;
  /** reload swaps the serving certificate for new connections; open connections keep theirs, so no admission is dropped. */
  reload(certificate: KeyPairPem): void;
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
  return review.request;
}

async function handle(deps: WebhookServerDeps, limit: number, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'https://webhook').pathname;
  if (request.method === 'GET' && path === '/healthz') {
    send(response, 200, 'ok\n');
    return;
  }
  if (path !== MUTATE_PODS_PATH || request.method !== 'POST') {
    send(response, path === MUTATE_PODS_PATH ? 405 : 404, path === MUTATE_PODS_PATH ? 'method not allowed\n' : 'not found\n');
    return;
  }
  const review = decode(await readBody(request, limit));
  send(response, 200, reviewResponse(await deps.admit(review)));
}

/**
 * startWebhookServer serves admission reviews over TLS. A failed review answers 500, so the API
 * server applies the webhook's failurePolicy instead of a half-made decision.
 */
export async function startWebhookServer(deps: WebhookServerDeps, options: WebhookServerOptions): Promise<WebhookServer> {
  const limit = options.bodyLimitBytes ?? 4 * 1024 * 1024;
  const server: Server = createServer({ key: options.certificate.keyPem, cert: options.certificate.certPem, minVersion: 'TLSv1.2' }, (request, response) => {
    handle(deps, limit, request, response).catch((error: unknown) => {
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
    reload: (certificate) => server.setSecureContext({ key: certificate.keyPem, cert: certificate.certPem, minVersion: 'TLSv1.2' }),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5000).unref();
    }),
  };
}
