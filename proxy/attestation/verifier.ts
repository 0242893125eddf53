import type { ProxyConfig } from '../config/schema.ts';
import { verifyDevelopmentBundle } from './development.ts';
import { fetchAttestationBundle } from './fetch-bundle.ts';
import { formatOf } from './formats.ts';
import { checkDomain } from './policy.ts';
import type { AttestationResult, AttestationVerifier } from './types.ts';

type AttestationConfig = ProxyConfig['attestation'];

/**
 * AttestationVerifierConfig is the `attestation` section of the proxy's configuration (only the
 * fields verification reads, so the operator can pass its own), plus what the caller knows about
 * the upstream and transport limits.
 */
export type AttestationVerifierConfig = Pick<AttestationConfig, 'trust' | 'configRepo' | 'bundleUrl' | 'developmentPublicKey'> & {
  /** expectedDomain is the upstream URL's hostname; a bundle for another domain fails at `policy`. */
  readonly expectedDomain?: string;
  readonly fetchTimeoutMs?: number;
  readonly maxBundleBytes?: number;
};

/** AttestationVerifierDeps are injected: the clock stamps `verifiedAt`, `fetch` is the transport. */
export interface AttestationVerifierDeps {
  readonly now?: () => Date;
  readonly fetch?: typeof fetch;
}

/**
 * createAttestationVerifier builds the verifier for `config.trust`: `Verified` checks Tinfoil
 * bundles with the real verifier, `Development` checks the simulator's signed bundles with the
 * configured key. Both fetch `<bundleUrl>/attestation`, then check the attested domain against
 * `expectedDomain`. The `Pin` policy is the caller's (`checkPinnedDigest`): the operator must still
 * learn which release an unpinned upstream runs. It throws at once when Development trust names no
 * key, so a misconfiguration never reaches a request.
 */
export function createAttestationVerifier(config: AttestationVerifierConfig, deps: AttestationVerifierDeps = {}): AttestationVerifier {
  const now = deps.now ?? ((): Date => new Date());
  const developmentKey = config.developmentPublicKey;
  if (config.trust === 'Development' && developmentKey === undefined) {
    throw new Error('attestation.developmentPublicKey is required when attestation.trust is Development');
  }
  const check = async (bundle: unknown): Promise<AttestationResult> => {
    const format = formatOf(bundle, config.trust);
    if (format === 'development' && developmentKey !== undefined) return verifyDevelopmentBundle(bundle, developmentKey, now());
    // The Tinfoil verifier (Sigstore, AMD certificate chains) is loaded only where it is used.
    const { verifyTinfoilBundle } = await import('./tinfoil.ts');
    return verifyTinfoilBundle(bundle, { configRepo: config.configRepo, now });
  };
  return {
    async verify(signal?: AbortSignal): Promise<AttestationResult> {
      const bundle = await fetchAttestationBundle(config.bundleUrl, {
        fetch: deps.fetch,
        timeoutMs: config.fetchTimeoutMs,
        maxBytes: config.maxBundleBytes,
        signal,
      });
      const result = await check(bundle);
      return config.expectedDomain === undefined ? result : checkDomain(result, config.expectedDomain);
    },
  };
}
