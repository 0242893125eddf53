import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, proxyEnvironment } from './load.ts';
import { configProblems, DEVELOPMENT_TRUST_ENV, MINIMAL_PROXY_CONFIG } from '../../test/harness/config-problems.ts';
import { CONFIG_API_VERSION } from './schema.ts';

const minimal = MINIMAL_PROXY_CONFIG;
const problemsOf = configProblems;

describe('proxy configuration', () => {
  it('applies defaults and freezes the result', () => {
    const config = parseConfig(minimal);
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.admin.port).toBe(9090);
    expect(config.attestation).toMatchObject({ trust: 'Verified', policy: 'Follow', bundleUrl: 'https://atc.tinfoil.sh', recheckIntervalSeconds: 300, firstVerificationWindowSeconds: 60 });
    expect(config.prices.currency).toBe('USD');
    expect(Object.isFrozen(config.attestation)).toBe(true);
    expect(() => {
      (config.listen as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('bounds the first-verification window, naming the option', () => {
    const window = (seconds: unknown): string[] => problemsOf({ ...minimal, attestation: { firstVerificationWindowSeconds: seconds } });
    expect(window(0)).toEqual([]);
    expect(window(3600)).toEqual([]);
    expect(window(-1)).toContain('attestation.firstVerificationWindowSeconds must be >= 0');
    expect(window(3601)).toContain('attestation.firstVerificationWindowSeconds must be <= 3600');
  });

  it('sends a tinfoil provider to Tinfoil unless told otherwise', () => {
    expect(parseConfig({ apiVersion: CONFIG_API_VERSION, provider: { type: 'tinfoil' } }).provider.upstreamUrl).toBe('https://inference.tinfoil.sh');
    expect(parseConfig(minimal).provider.upstreamUrl).toBe('https://inference.tinfoil.sh');
    expect(parseConfig({ ...minimal, provider: { type: 'tinfoil', upstreamUrl: 'https://router.example.com' } }).provider.upstreamUrl).toBe('https://router.example.com');
  });

  it('names every offending option', () => {
    const problems = problemsOf({ ...minimal, listen: { port: 0 }, provider: { type: 'tinfoil', bogus: 1 }, maxBodyBytes: 'big' });
    expect(problems).toContain('listen.port must be >= 1');
    expect(problems).toContain('provider.bogus is not a known option');
    expect(problems.some((p) => p.startsWith('maxBodyBytes '))).toBe(true);
  });

  it('refuses plain http and development keys outside Development trust', () => {
    expect(problemsOf({ ...minimal, provider: { type: 'tinfoil', upstreamUrl: 'http://x.test' } })).toEqual([
      'provider.upstreamUrl must be an https URL (plain http is allowed only with attestation.trust Development)',
    ]);
    expect(problemsOf({ ...minimal, attestation: { developmentPublicKey: 'k' } })).toEqual([
      'attestation.developmentPublicKey is only allowed when attestation.trust is Development',
    ]);
    expect(problemsOf({ ...minimal, attestation: { trust: 'Development' } }, DEVELOPMENT_TRUST_ENV)).toEqual([
      'attestation.developmentPublicKey is required when attestation.trust is Development',
    ]);
    expect(problemsOf({ ...minimal, provider: { type: 'tinfoil', upstreamUrl: 'http://127.0.0.1:1' }, attestation: { trust: 'Development', developmentPublicKey: 'k', bundleUrl: 'http://127.0.0.1:1' } }, DEVELOPMENT_TRUST_ENV)).toEqual([]);
    // a bundle proves itself, so a loopback mirror may serve it over http even in Verified mode
    expect(problemsOf({ ...minimal, attestation: { bundleUrl: 'http://127.0.0.1:8000' } })).toEqual([]);
    expect(problemsOf({ ...minimal, attestation: { bundleUrl: 'http://mirror.example.com' } })).toEqual([
      'attestation.bundleUrl must be an https URL (plain http is allowed only with attestation.trust Development)',
    ]);
  });

  it('requires an acknowledgement for an unattested upstream, and pins for Pin', () => {
    expect(problemsOf({ apiVersion: CONFIG_API_VERSION, provider: { type: 'openai-compatible', upstreamUrl: 'https://api.example.com' } })).toEqual([
      'provider.acknowledgeUnattested must be true for provider.type openai-compatible (its upstream is not attested)',
    ]);
    expect(problemsOf({ ...minimal, attestation: { policy: 'Pin' } })).toEqual([
      'attestation.pinnedDigests must name at least one digest when attestation.policy is Pin',
    ]);
    expect(problemsOf({ ...minimal, attestation: { policy: 'Pin', pinnedDigests: ['ab'] } })[0]).toMatch(/^attestation\.pinnedDigests\.0 must match pattern/);
    expect(problemsOf({ ...minimal, auth: { mode: 'serviceaccount' } })).toEqual([
      'auth.audiences must name at least one audience when auth.mode is serviceaccount',
    ]);
  });

  it('sends privatemode plaintext only to privatemode-proxy on loopback, which holds the key, and takes one key file or a pool', () => {
    const pm = (provider: Record<string, unknown>): string[] => problemsOf({ apiVersion: CONFIG_API_VERSION, provider: { type: 'privatemode', ...provider } });
    expect(pm({ upstreamUrl: 'http://127.0.0.1:18080' })).toEqual([]);
    expect(pm({ upstreamUrl: 'http://privatemode.example.com:8080' })).toEqual([
      'provider.upstreamUrl must be http on loopback (127.0.0.1, localhost or [::1]) for provider.type privatemode: plaintext goes to privatemode-proxy in the same pod only',
    ]);
    expect(pm({ upstreamUrl: 'http://127.0.0.1:18080', apiKeyFile: '/k' })).toEqual([
      'provider.apiKeyFile and provider.apiKeyFiles are not used with provider.type privatemode: privatemode-proxy holds the key',
    ]);
    expect(problemsOf({ ...minimal, provider: { type: 'tinfoil', apiKeyFile: '/k', apiKeyFiles: ['/a', '/b'] } })).toEqual([
      'provider.apiKeyFile and provider.apiKeyFiles are exclusive: name one key file or a pool',
    ]);
  });

  it('keeps the shutdown drain window inside the grace period', () => {
    expect(problemsOf(minimal)).toEqual([]);
    expect(problemsOf({ ...minimal, shutdownGraceSeconds: 0, shutdownDrainSeconds: 0 })).toEqual([]);
    expect(problemsOf({ ...minimal, shutdownGraceSeconds: 2 })).toEqual(['shutdownDrainSeconds (2) must be less than shutdownGraceSeconds (2)']);
  });

  it('lets the environment override ports and log level, and reads only its own variables', () => {
    const env = proxyEnvironment({ PROXY_LISTEN_PORT: '18080', PROXY_LOG_LEVEL: 'debug', HOME: '/root', PROXY_ADMIN_PORT: '19090' });
    expect(env).toEqual({ PROXY_LISTEN_PORT: '18080', PROXY_LOG_LEVEL: 'debug', PROXY_ADMIN_PORT: '19090' });
    const config = parseConfig(minimal, env);
    expect(config.listen.port).toBe(18080);
    expect(config.admin.port).toBe(19090);
    expect(config.logLevel).toBe('debug');
    expect(problemsOf(minimal, { PROXY_LISTEN_PORT: '9090' })).toEqual(['listen.port and admin.port must differ']);
  });

  it('loads YAML and JSON files and explains unreadable ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'config-'));
    try {
      await writeFile(join(dir, 'a.yaml'), `apiVersion: ${CONFIG_API_VERSION}\nprovider:\n  type: tinfoil\n`);
      await writeFile(join(dir, 'b.json'), JSON.stringify(minimal));
      await writeFile(join(dir, 'c.yaml'), 'provider: [unclosed');
      expect((await loadConfig(join(dir, 'a.yaml'))).provider.type).toBe('tinfoil');
      expect((await loadConfig(join(dir, 'b.json'))).provider.upstreamUrl).toBe('https://inference.tinfoil.sh');
      await expect(loadConfig(join(dir, 'c.yaml'))).rejects.toThrow(/is neither JSON nor YAML/);
      await expect(loadConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read the configuration file/);
      await expect(loadConfig(join(dir, 'a.yaml'), { PROXY_LISTEN_PORT: 'abc' })).rejects.toThrow(/listen\.port/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
