import type { Logger } from 'pino';
import { isConflict } from '../controller/api-errors.ts';
import type { KeyPairPem } from '../tls/pki.ts';
import { DEFAULT_ROTATION, rotate, type Force, type RotationPolicy, type ServingIdentity, type WebhookCertificates } from './certificates.ts';

/** StoredCertificates is what the Secret holds, with the version to write against. */
export interface StoredCertificates {
  readonly certificates?: WebhookCertificates;
  readonly resourceVersion?: string;
}

/** CertificateStore keeps the certificates in the operator's one Secret (docs/architecture.md §5). */
export interface CertificateStore {
  read(): Promise<StoredCertificates>;
  /** write creates the Secret (no resourceVersion) or replaces it at `resourceVersion`; a conflict throws. */
  write(certificates: WebhookCertificates, resourceVersion?: string): Promise<void>;
}

/** CertificateControllerDeps: the store, where the bundle and serving pair go, a logger and a clock. */
export interface CertificateControllerDeps {
  readonly store: CertificateStore;
  /** publish writes the CA bundle into the MutatingWebhookConfiguration. */
  readonly publish: (caBundlePem: string) => Promise<void>;
  /** serve hands the serving pair to the HTTPS server. */
  readonly serve: (serving: KeyPairPem) => void;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** CertificateControllerOptions: the serving certificate's names, the rotation policy and how often to look. */
export interface CertificateControllerOptions {
  readonly identity: ServingIdentity;
  readonly policy?: Partial<RotationPolicy>;
  readonly intervalMs?: number;
}

/**
 * CertificateController keeps the webhook's certificates current: every replica reads the Secret,
 * rotates what is due, writes with optimistic concurrency (a replica that loses the race reads the
 * winner's certificates on its next pass), publishes the bundle, then serves the new pair. The
 * bundle always reaches the configuration before a serving certificate that needs it (rotate waits
 * `propagationMs` after a new CA), so no admission fails across a rotation.
 */
export class CertificateController {
  readonly #deps: CertificateControllerDeps;
  readonly #options: CertificateControllerOptions;
  readonly #policy: RotationPolicy;
  #published: string | undefined;
  #served: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<WebhookCertificates> | undefined;

  constructor(deps: CertificateControllerDeps, options: CertificateControllerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#policy = { ...DEFAULT_ROTATION, ...options.policy };
  }

  /** prepare makes sure certificates exist and returns them, without publishing: the server must listen first. */
  async prepare(): Promise<WebhookCertificates> {
    return this.#step(undefined, false);
  }

  /** sync runs one pass (serialised with any pass in flight); `force` rotates now. */
  async sync(force?: Force): Promise<WebhookCertificates> {
    const previous = this.#running ?? Promise.resolve(undefined);
    const run = previous.catch(() => undefined).then(() => this.#step(force, true));
    this.#running = run;
    return run;
  }

  /** start publishes and then re-checks on the interval until stop. */
  async start(): Promise<void> {
    await this.sync();
    this.#schedule();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.sync().catch((error: unknown) => this.#deps.logger.warn({ err: error }, 'webhook certificate sync failed; retrying'))
        .finally(() => { if (this.#timer !== undefined) this.#schedule(); });
    }, this.#options.intervalMs ?? 60_000);
  }

  async #step(force: Force | undefined, publish: boolean, attempt = 0): Promise<WebhookCertificates> {
    const stored = await this.#deps.store.read();
    const now = this.#deps.now?.() ?? new Date();
    const { next, changed } = await rotate(stored.certificates, { now, policy: this.#policy, identity: this.#options.identity, ...(force ? { force } : {}) });
    if (changed) {
      try {
        await this.#deps.store.write(next, stored.resourceVersion);
      } catch (error) {
        // Another replica wrote first (replicas start together): read and use its certificates.
        if (isConflict(error) && attempt < 3) return this.#step(undefined, publish, attempt + 1);
        throw error;
      }
      this.#deps.logger.info({ force, bundle: next.bundle.length }, 'webhook certificates rotated');
    }
    const bundle = next.bundle.join('\n');
    if (publish && bundle !== this.#published) {
      await this.#deps.publish(bundle);
      this.#published = bundle;
    }
    if (next.serving.certPem !== this.#served) {
      this.#deps.serve(next.serving);
      this.#served = next.serving.certPem;
    }
    return next;
  }
}
