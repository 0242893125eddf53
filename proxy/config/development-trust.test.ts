import { describe, expect, it } from 'vitest';
import { configProblems, MINIMAL_PROXY_CONFIG } from '../../test/harness/config-problems.ts';
import { proxyEnvironment } from './load.ts';

const PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n';
/** development is what a tenant could hand a proxy: its own signing key and a plain-http upstream. */
const development = {
  ...MINIMAL_PROXY_CONFIG,
  provider: { type: 'tinfoil', upstreamUrl: 'http://upstream.team-a.svc:8080' },
  attestation: { trust: 'Development', developmentPublicKey: PEM, bundleUrl: 'http://upstream.team-a.svc:8080' },
};

describe('development trust in the proxy', () => {
  it('refuses a development configuration without the explicit opt-in, naming the option', () => {
    const problems = configProblems(development, {});
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('attestation.trust Development');
    expect(problems[0]).toContain('AIO_ALLOW_DEVELOPMENT_TRUST=true');
    expect(configProblems(development, { AIO_ALLOW_DEVELOPMENT_TRUST: '1' })).toHaveLength(1);
  });

  it('accepts it with the opt-in, which the proxy reads from its environment', () => {
    expect(proxyEnvironment({ AIO_ALLOW_DEVELOPMENT_TRUST: 'true', HOME: '/' })).toEqual({ AIO_ALLOW_DEVELOPMENT_TRUST: 'true' });
    expect(configProblems(development, proxyEnvironment({ AIO_ALLOW_DEVELOPMENT_TRUST: 'true' }))).toEqual([]);
    expect(configProblems(MINIMAL_PROXY_CONFIG, {})).toEqual([]);
  });
});
