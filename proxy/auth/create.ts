import type { ProxyConfig } from '../config/schema.ts';
import { createServiceAccountAuthenticator } from './serviceaccount.ts';
import { createStaticKeysAuthenticator } from './static-keys.ts';
import type { AuthDeps, Caller, CallerAuthenticator } from './types.ts';

/** ANONYMOUS is the caller of every request when `auth.mode` is `none`. */
export const ANONYMOUS: Caller = Object.freeze({ kind: 'anonymous', label: 'anonymous' });

/**
 * anonymousAuthenticator accepts everyone as ANONYMOUS. It is meant for sidecars that listen on
 * 127.0.0.1, where only containers of the same pod can connect.
 */
export function anonymousAuthenticator(): CallerAuthenticator {
  return { authenticate: () => Promise.resolve(ANONYMOUS) };
}

/**
 * createAuthenticator builds the authenticator for `auth.mode`. It fails at start, naming the
 * option, when the mode cannot work: static keys that cannot be read, `serviceaccount` without
 * audiences or a TokenReview client, or `jwt` without its `auth.jwt` block.
 */
export async function createAuthenticator(config: ProxyConfig['auth'], deps: AuthDeps): Promise<CallerAuthenticator> {
  switch (config.mode) {
    case 'none':
      return anonymousAuthenticator();
    case 'static-keys':
      if (config.staticKeysFile === undefined) throw new Error('auth.staticKeysFile is required when auth.mode is static-keys');
      return createStaticKeysAuthenticator({ path: config.staticKeysFile }, deps);
    case 'serviceaccount':
      if (deps.tokenReview === undefined) throw new Error('auth.mode serviceaccount needs a Kubernetes client for TokenReview');
      return createServiceAccountAuthenticator(
        { audiences: config.audiences, cacheSeconds: config.tokenReviewCacheSeconds, allowedServiceAccounts: config.allowedServiceAccounts },
        { tokenReview: deps.tokenReview, logger: deps.logger, now: () => deps.now() },
      );
    case 'jwt': {
      if (config.jwt === undefined) throw new Error('auth.jwt is required when auth.mode is jwt');
      // jose and the key-set cache cost about 10 MiB; a proxy that checks no JWTs does not load them.
      const { createJwtAuthenticator } = await import('./jwt.ts');
      return createJwtAuthenticator(config.jwt, { logger: deps.logger, now: () => deps.now() });
    }
  }
}
