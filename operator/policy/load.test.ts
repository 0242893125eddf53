import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile, parsePolicy } from './load.ts';
import { builtInPolicy, DEFAULT_CONFIG_REPO, rulesFor } from './model.ts';

describe('the policy file', () => {
  it('fills what the default omits from the built-in default, and merges a namespace\'s exception over it', () => {
    const policy = parsePolicy({ name: 'site-policy', default: { proxyImages: ['r/p@sha256:' + 'c'.repeat(64)] }, namespaces: { 'team-a': { limitsStores: ['redis://Redis.A:6379/'] } } }, false);
    expect(policy.name).toBe('site-policy');
    expect(rulesFor(policy, 'team-b')).toEqual({ ...builtInPolicy(false).default, proxyImages: ['r/p@sha256:' + 'c'.repeat(64)] });
    expect(rulesFor(policy, 'team-a').limitsStores).toEqual(['redis://redis.a:6379']);
    expect(rulesFor(policy, 'team-a').proxyImages).toEqual(['r/p@sha256:' + 'c'.repeat(64)]);
    expect(Object.isFrozen(policy.default.proxyImages)).toBe(true);
  });

  it('is closed by default: the default repository only, nothing else, development trust as the flag', () => {
    expect(builtInPolicy(false).default).toEqual({ proxyImages: [], configRepos: [DEFAULT_CONFIG_REPO], developmentTrust: false, unattestedUpstreamHosts: [], limitsStores: [] });
    expect(builtInPolicy(true).default.developmentTrust).toBe(true);
    expect(rulesFor(builtInPolicy(false), 'constructor')).toEqual(builtInPolicy(false).default);
  });

  it('refuses a bad file with an error naming the field', () => {
    const bad: [unknown, string][] = [
      [[], '(root) must be an object'],
      [{ defaults: {} }, '(root) has unknown keys: defaults'],
      [{ name: '' }, 'name must be a non-empty string'],
      [{ default: { proxyImage: [] } }, 'default has unknown keys: proxyImage'],
      [{ default: { proxyImages: 'x' } }, 'default.proxyImages must be a list'],
      [{ default: { configRepos: ['not a repo'] } }, 'default.configRepos[0] must be a GitHub repository'],
      [{ default: { unattestedUpstreamHosts: ['https://api.example'] } }, 'default.unattestedUpstreamHosts[0] must be host or host:port'],
      [{ default: { unattestedUpstreamHosts: ['user@api.example'] } }, 'default.unattestedUpstreamHosts[0]'],
      [{ default: { limitsStores: ['redis://user:pw@redis:6379'] } }, 'default.limitsStores[0] must be a redis:// or rediss:// URL'],
      [{ default: { developmentTrust: 'yes' } }, 'default.developmentTrust must be true or false'],
      [{ default: { developmentTrust: true } }, 'default.developmentTrust is true but the operator runs without --allow-development-trust'],
      [{ namespaces: { 'Team_A': {} } }, 'namespaces: "Team_A" is not a namespace name'],
      [{ namespaces: { 'team-a': { developmentTrust: true } } }, 'namespaces.team-a.developmentTrust is true'],
      [{ namespaces: { 'team-a': [] } }, 'namespaces.team-a must be an object'],
    ];
    for (const [raw, message] of bad) expect(() => parsePolicy(raw, false), JSON.stringify(raw)).toThrow(message);
    expect(parsePolicy({ namespaces: { 'team-a': { developmentTrust: true } } }, true).namespaces['team-a']?.developmentTrust).toBe(true);
  });

  it('is read from a JSON file, and a file that cannot be used names the option', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aio-policy-'));
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ name: 'attested-inference-policy', default: { unattestedUpstreamHosts: ['api.example:8443'] } }));
    writeFileSync(join(dir, 'broken.json'), '{');
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ default: { limitsStores: ['http://x'] } }));
    expect(loadPolicyFile(join(dir, 'policy.json'), false).default.unattestedUpstreamHosts).toEqual(['api.example:8443']);
    expect(() => loadPolicyFile(join(dir, 'missing.json'), false)).toThrow(/^--policy-file .*missing\.json: cannot be read/);
    expect(() => loadPolicyFile(join(dir, 'broken.json'), false)).toThrow(/--policy-file .*broken\.json: is not JSON/);
    expect(() => loadPolicyFile(join(dir, 'wrong.json'), false)).toThrow(/--policy-file .*wrong\.json: default\.limitsStores\[0\]/);
  });
});
