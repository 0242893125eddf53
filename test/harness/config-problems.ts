import { ConfigError, parseConfig } from '../../proxy/config/load.ts';
import { CONFIG_API_VERSION } from '../../proxy/config/schema.ts';

/** MINIMAL_PROXY_CONFIG is the smallest valid proxy configuration: a Tinfoil upstream, every default. */
export const MINIMAL_PROXY_CONFIG = { apiVersion: CONFIG_API_VERSION, provider: { type: 'tinfoil', upstreamUrl: 'https://inference.tinfoil.sh' } };

/** DEVELOPMENT_TRUST_ENV is the proxy environment's opt-in to development trust (proxy/config/load.ts), for tests that trust the enclave simulator. */
export const DEVELOPMENT_TRUST_ENV = { AIO_ALLOW_DEVELOPMENT_TRUST: 'true' } as const;

/** configProblems parses `raw` as a proxy configuration and returns the problems it was refused for (none: accepted). */
export function configProblems(raw: unknown, env = {}): string[] {
  try {
    parseConfig(raw, env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}
