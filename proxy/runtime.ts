import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createAttestationManager, type AttestationManager } from './attestation/manager.ts';
import { decideReadiness, type Readiness } from './attestation/readiness.ts';
import { createAttestationVerifier } from './attestation/verifier.ts';
import { createAuthenticator } from './auth/create.ts';
import type { CallerAuthenticator, TokenReviewClient } from './auth/types.ts';
import type { ProxyConfig } from './config/schema.ts';
import { createLimits, type LimitsStatus } from './limits/create.ts';
import type { RateLimiter } from './limits/types.ts';
import { createProxyMetrics, setAttestationInfo, type ProxyMetrics } from './metering/metrics.ts';
import { watchFile, type WatchedFile } from './secrets/watched-file.ts';
import { createUpstreamClient } from './upstream/http.ts';
import { createKeyPool, type KeyPool } from './upstream/key-pool.ts';
import { createOpenAICompatibleProvider } from './upstream/openai-compatible.ts';
import { createPrivatemodeProvider } from './upstream/privatemode.ts';
import type { Provider } from './upstream/provider.ts';
import { createTinfoilProvider } from './upstream/tinfoil.ts';

/** RuntimeDeps are the process-level collaborators main.ts (or a test) hands in. */
export interface RuntimeDeps {
  readonly logger: Logger;
  readonly tokenReview?: TokenReviewClient;
  readonly fetch?: typeof fetch;
  /** now is the wall clock limits and budget windows use (tests inject one); Date.now by default. */
  readonly now?: () => number;
}

/** Runtime is everything a running proxy is made of, built from one configuration. */
export interface Runtime {
  readonly config: ProxyConfig;
  readonly registry: Registry;
  readonly metrics: ProxyMetrics;
  readonly provider: Provider;
  readonly authenticator: CallerAuthenticator;
  readonly limiter: RateLimiter;
  readonly limitsStatus: () => LimitsStatus;
  /** keys is the pool of provider keys (one for most endpoints). */
  readonly keys: KeyPool;
  readonly promptCacheSecret: () => string | undefined;
  /** readiness is what `/readyz` answers besides draining: ready once the upstream verified, or the window passed (docs/adr/0013). */
  readonly readiness: () => Readiness;
  close(): Promise<void>;
}

async function watchSecret(path: string | undefined, what: string, deps: RuntimeDeps, onLoaded?: (loaded: boolean) => void): Promise<WatchedFile<string> | undefined> {
  if (path === undefined) return undefined;
  return watchFile(path, {
    parse: (text) => text.trim(),
    onChange: (value, error) => {
      onLoaded?.(value !== undefined && value !== '');
      if (error) deps.logger.warn({ path, reason: error.message }, `${what} is unavailable`);
      else deps.logger.info({ path }, `${what} loaded`);
    },
  });
}

function attestationManager(config: ProxyConfig, metrics: ProxyMetrics, deps: RuntimeDeps): AttestationManager {
  const upstream = config.provider.upstreamUrl;
  const verifier = createAttestationVerifier(
    { ...config.attestation, ...(upstream ? { expectedDomain: new URL(upstream).host } : {}) },
    deps.fetch ? { fetch: deps.fetch } : {},
  );
  const log = deps.logger.child({ component: 'attestation' });
  return createAttestationManager({
    verifier,
    policy: config.attestation,
    events: {
      verified: (result, changed) => {
        metrics.attestationUp.set(1);
        metrics.attestationVerifications.inc({ result: 'success', step: 'none' });
        metrics.attestationVerifiedTimestamp.set(result.verifiedAt.getTime() / 1000);
        setAttestationInfo(metrics, { trust: result.trust, releaseDigest: result.releaseDigest, measurementFingerprint: result.measurementFingerprint });
        if (changed) log.info({ releaseDigest: result.releaseDigest, measurementFingerprint: result.measurementFingerprint, trust: result.trust }, 'upstream attested');
      },
      failed: (failure, stillServing) => {
        metrics.attestationVerifications.inc({ result: 'failure', step: failure.step });
        if (!stillServing) {
          metrics.attestationUp.set(0);
          setAttestationInfo(metrics, undefined);
        }
        log.warn({ step: failure.step, reason: failure.message, stillServing }, 'upstream attestation failed');
      },
    },
  });
}

/**
 * readinessOf decides readiness from the manager's milestones (none for an unattested upstream)
 * and logs each change of reason once: a proxy that turns ready without a verified upstream says so.
 */
function readinessOf(attestation: AttestationManager | undefined, config: ProxyConfig, deps: RuntimeDeps): () => Readiness {
  // The manager's clock (the wall clock), not deps.now, which tests may move for limits windows.
  const now = Date.now;
  const windowMs = config.attestation.firstVerificationWindowSeconds * 1000;
  let last: Readiness['reason'] | undefined;
  return () => {
    const milestones = attestation?.milestones() ?? { startedAt: undefined, firstVerifiedAt: undefined };
    const readiness = decideReadiness({ attested: attestation !== undefined, ...milestones, now: now(), windowMs });
    if (readiness.reason !== last) {
      last = readiness.reason;
      const fields = { reason: readiness.reason, ready: readiness.ready, firstVerificationWindowSeconds: config.attestation.firstVerificationWindowSeconds };
      if (readiness.reason === 'WindowElapsed') deps.logger.warn(fields, 'ready without a verified upstream: the first-verification window passed; inference requests are answered 503 until it verifies');
      else deps.logger.info(fields, 'readiness');
    }
    return readiness;
  };
}

/**
 * providerKeys watches every provider key file and pools them; metrics count answers and
 * set-asides by key index. A key's value is never logged.
 */
async function providerKeys(config: ProxyConfig, metrics: ProxyMetrics, deps: RuntimeDeps): Promise<{ pool: KeyPool; close: () => void }> {
  const files = config.provider.apiKeyFiles ?? (config.provider.apiKeyFile !== undefined ? [config.provider.apiKeyFile] : []);
  const loaded = new Set<number>();
  const watched = await Promise.all(files.map((path, index) => watchSecret(path, files.length > 1 ? `provider API key ${String(index)}` : 'provider API key', deps, (ok) => {
    if (ok) loaded.add(index);
    else loaded.delete(index);
    metrics.providerKeyLoaded.set(loaded.size > 0 ? 1 : 0);
  })));
  const log = deps.logger.child({ component: 'provider-keys' });
  const pool = createKeyPool(() => watched.map((file) => file?.current()), {
    events: {
      answered: (index, outcome) => metrics.providerKeyAnswers.inc({ key_index: String(index), outcome }),
      setAside: (index, until, outcome) => {
        metrics.providerKeySetAside.set({ key_index: String(index) }, 1);
        if (files.length > 1) log.warn({ keyIndex: index, outcome, until: new Date(until).toISOString() }, 'provider key set aside; requests go to the others');
      },
      restored: (index) => metrics.providerKeySetAside.set({ key_index: String(index) }, 0),
    },
  });
  for (let i = 0; i < files.length; i++) metrics.providerKeySetAside.set({ key_index: String(i) }, 0);
  return { pool, close: () => watched.forEach((file) => file?.close()) };
}

/** createRuntime builds the provider, callers' authentication, limits and metrics for `config`. */
export async function createRuntime(config: ProxyConfig, deps: RuntimeDeps): Promise<Runtime> {
  const registry = new Registry();
  const metrics = createProxyMetrics(registry);
  metrics.configInfo.set({ endpoint: `${config.endpoint.namespace}/${config.endpoint.name}`, provider: config.provider.type, trust: config.attestation.trust }, 1);
  if (config.attestation.trust === 'Development') {
    deps.logger.warn({ trust: 'Development' }, 'DEVELOPMENT TRUST: the upstream is trusted through a development signing key, not hardware attestation');
  }
  const keys = await providerKeys(config, metrics, deps);
  const cacheSecret = await watchSecret(config.promptCache.userCacheSecretFile, 'prompt-cache secret', deps);
  // The loader guarantees an upstream: openai-compatible must name one, tinfoil has a default.
  const upstreamUrl = config.provider.upstreamUrl;
  if (upstreamUrl === undefined) throw new Error('provider.upstreamUrl is missing');
  const client = createUpstreamClient(upstreamUrl, config.provider);
  let provider: Provider;
  let attestation: AttestationManager | undefined;
  if (config.provider.type === 'tinfoil') {
    attestation = attestationManager(config, metrics, deps);
    provider = createTinfoilProvider({ client, attestation, keys: keys.pool, onRetry: (reason) => deps.logger.info({ reason }, 're-attesting and retrying once') });
  } else if (config.provider.type === 'privatemode') {
    deps.logger.info({ upstream: upstreamUrl }, 'attestation delegated to privatemode-proxy in this pod: it attests Privatemode, holds the key and encrypts; requests reach it in plaintext over loopback');
    provider = createPrivatemodeProvider({ client });
  } else {
    metrics.unattested.set(1);
    deps.logger.warn({ upstream: config.provider.upstreamUrl }, 'UNATTESTED upstream: requests are forwarded in plaintext to an upstream that is not attested');
    provider = createOpenAICompatibleProvider({ client, keys: keys.pool });
  }
  const authenticator = await createAuthenticator(config.auth, { now: Date.now, logger: deps.logger.child({ component: 'auth' }), ...(deps.tokenReview ? { tokenReview: deps.tokenReview } : {}) });
  const limits = await createLimits(config, { now: deps.now ?? Date.now, metrics, logger: deps.logger.child({ component: 'limits' }) });
  return {
    config, registry, metrics, provider, authenticator, limiter: limits.limiter, limitsStatus: limits.status, keys: keys.pool,
    promptCacheSecret: () => cacheSecret?.current(),
    readiness: readinessOf(attestation, config, deps),
    async close(): Promise<void> {
      keys.close();
      cacheSecret?.close();
      await authenticator.close?.();
      await provider.close();
      await limits.close();
    },
  };
}
