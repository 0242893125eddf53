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
  /**
   * published reads the live configuration and says whether it still carries what publish wrote
   * with this bundle; absent, the controller trusts its memory of the last publish.
   */
  readonly published?: (caBundlePem: string) => Promise<boolean>;
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
 *
 * Each pass also compares the live configuration with what it published and applies it again when
 * someone else's write changed it (a chart re-applied with `helm upgrade --force` blanks the
 * caBundle), and a Secret deleted under a running replica is written back from the certificates
 * in memory, which the API server already trusts; if that write is refused, the replica keeps
 * serving and publishing them and retries on its next pass (docs/adr/0016-webhook-under-change.md).
 */
export class CertificateController {
  readonly #deps: CertificateControllerDeps;
  readonly #options: CertificateControllerOptions;
  readonly #policy: RotationPolicy;
  #published: string | undefined;
  /** #memory holds the certificates of the last pass: what this replica serves and publishes. */
  #memory: WebhookCertificates | undefined;
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
    // A deleted or emptied Secret: carry on from memory rather than make a CA nobody trusts yet.
    const current = stored.certificates ?? this.#memory;
    const { next, changed } = await rotate(current, { now, policy: this.#policy, identity: this.#options.identity, ...(force ? { force } : {}) });
    if (changed || stored.certificates === undefined) {
      const kept = await this.#write(next, stored, { changed, attempt });
      if (kept === 'retry') return this.#step(undefined, publish, attempt + 1);
      if (changed) this.#deps.logger.info({ force, bundle: next.bundle.length }, 'webhook certificates rotated');
    }
    this.#memory = next;
    await this.#publish(next.bundle.join('\n'), publish);
    if (next.serving.certPem !== this.#served) {
      this.#deps.serve(next.serving);
      this.#served = next.serving.certPem;
    }
    return next;
  }

  /**
   * #write stores `next`. A lost race (another replica wrote first) asks for a fresh pass. When
   * only the Secret is missing and the certificates in memory are still the ones in use, a
   * refused write is logged and the pass goes on with them; anything else throws.
   */
  async #write(next: WebhookCertificates, stored: StoredCertificates, p: { changed: boolean; attempt: number }): Promise<'written' | 'retry' | 'kept'> {
    try {
      await this.#deps.store.write(next, stored.resourceVersion);
      if (!p.changed) this.#deps.logger.warn('webhook certificate Secret was missing or empty; wrote it back from the certificates in use');
      return 'written';
    } catch (error) {
      // Another replica wrote first (replicas start together, or both saw the Secret gone).
      if (isConflict(error) && p.attempt < 3) return 'retry';
      if (p.changed || this.#memory === undefined) throw error;
      this.#deps.logger.warn({ err: error }, 'webhook certificate Secret is missing and cannot be written back; serving the certificates in memory and retrying');
      return 'kept';
    }
  }

  /** #publish applies the configuration when the bundle changed, or when the live configuration no longer carries it. */
  async #publish(bundle: string, publish: boolean): Promise<void> {
    if (!publish) return;
    if (bundle === this.#published && (await this.#deps.published?.(bundle)) !== false) return;
    if (bundle === this.#published) this.#deps.logger.warn('the live MutatingWebhookConfiguration differs from what the operator applied (caBundle or webhooks changed by another writer); applying it again');
    await this.#deps.publish(bundle);
    this.#published = bundle;
  }
}
