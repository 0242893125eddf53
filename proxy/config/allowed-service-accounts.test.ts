import { describe, expect, it } from 'vitest';
import { configProblems, MINIMAL_PROXY_CONFIG } from '../../test/harness/config-problems.ts';
import { parseConfig } from './load.ts';

const serviceaccount = (allowedServiceAccounts: unknown): unknown => ({
  ...MINIMAL_PROXY_CONFIG,
  auth: { mode: 'serviceaccount', audiences: ['inference'], allowedServiceAccounts },
});

describe('auth.allowedServiceAccounts', () => {
  it('defaults to empty, and takes <namespace>/<name> and <namespace>/* entries', () => {
    expect(parseConfig(MINIMAL_PROXY_CONFIG).auth.allowedServiceAccounts).toEqual([]);
    expect(configProblems(serviceaccount(['team-a/billing', 'team-b/*', 'ns/sa.with.dots']))).toEqual([]);
  });

  it('refuses entries that are not a namespace and a ServiceAccount name, naming the entry', () => {
    for (const entry of ['billing', 'team-a/', '/billing', 'Team-A/billing', 'team-a/bil*', '*/billing', 'a/b/c', 'team-a/*x']) {
      const problems = configProblems(serviceaccount([entry]));
      expect(problems, entry).toHaveLength(1);
      expect(problems[0], entry).toMatch(/^auth\.allowedServiceAccounts\.0 must match pattern/);
    }
  });

  it('is only allowed with auth.mode serviceaccount', () => {
    expect(configProblems({ ...MINIMAL_PROXY_CONFIG, auth: { mode: 'none', allowedServiceAccounts: ['a/b'] } })).toEqual([
      'auth.allowedServiceAccounts is only allowed when auth.mode is serviceaccount',
    ]);
  });
});
