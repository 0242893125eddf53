import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOperatorOptions } from './config.ts';

const base = ['--proxy-image=registry.local/proxy:1'];

describe('operator options: the webhook flags', () => {
  it('leave the webhook off unless the API server can reach it', () => {
    expect(parseOperatorOptions(base, {}).webhook).toBeUndefined();
  });

  it('reach it through the Service in the operator namespace by default, failing closed and rejecting', () => {
    const { webhook } = parseOperatorOptions([...base, '--webhook-service-name=injector'], { POD_NAMESPACE: 'aio-system' });
    expect(webhook).toEqual({
      host: '0.0.0.0',
      port: 9443,
      client: { service: { name: 'injector', namespace: 'aio-system', port: 443 } },
      namespace: 'aio-system',
      secretName: 'attested-inference-webhook-tls',
      configurationName: 'attested-inference-sidecar-injector',
      failureMode: 'reject',
      failurePolicy: 'Fail',
    });
  });

  it('take the drain period and the certificate check interval in seconds, naming the flag when wrong', () => {
    const { webhook } = parseOperatorOptions([...base, '--webhook-service-name=s', '--webhook-drain-seconds=12'], { OPERATOR_WEBHOOK_CERTIFICATE_CHECK_SECONDS: '30' });
    expect(webhook).toMatchObject({ drainMs: 12_000, certificateIntervalMs: 30_000 });
    expect(parseOperatorOptions([...base, '--webhook-service-name=s'], {}).webhook?.drainMs).toBeUndefined();
    expect(() => parseOperatorOptions([...base, '--webhook-service-name=s', '--webhook-drain-seconds=1.5'], {})).toThrow('--webhook-drain-seconds must be a whole number of seconds');
    expect(() => parseOperatorOptions([...base, '--webhook-service-name=s', '--webhook-certificate-check-seconds=0'], {})).toThrow('--webhook-certificate-check-seconds must be a whole number of seconds from 1');
  });

  it('take a URL for local testing, and the environment as flags do', () => {
    const { webhook } = parseOperatorOptions([...base, '--webhook-url=https://127.0.0.1:9555', '--webhook-port=9555'], { OPERATOR_WEBHOOK_FAILURE_MODE: 'admit', OPERATOR_WEBHOOK_FAILURE_POLICY: 'Ignore' });
    expect(webhook).toMatchObject({ port: 9555, client: { url: 'https://127.0.0.1:9555' }, failureMode: 'admit', failurePolicy: 'Ignore' });
  });

  it('name the option in every error', () => {
    expect(() => parseOperatorOptions([...base, '--webhook-url=http://x'], {})).toThrow('--webhook-url must be an https URL');
    expect(() => parseOperatorOptions([...base, '--webhook-url=https://x', '--webhook-service-name=s'], {})).toThrow('exclude each other');
    expect(() => parseOperatorOptions([...base, '--webhook-service-name=s', '--webhook-failure-mode=maybe'], {})).toThrow('--webhook-failure-mode must be one of reject, admit');
    expect(() => parseOperatorOptions([...base, '--webhook-service-name=s', '--webhook-failure-policy=fail'], {})).toThrow('--webhook-failure-policy must be one of Fail, Ignore');
  });

  it('read client authentication of the API server: off by default, names only with a CA', () => {
    expect(parseOperatorOptions([...base, '--webhook-service-name=s'], {}).webhook?.clientAuth).toBeUndefined();
    const { webhook } = parseOperatorOptions([...base, '--webhook-service-name=s', '--webhook-client-ca-file=/etc/ca.crt'], { OPERATOR_WEBHOOK_CLIENT_NAMES: 'kube-apiserver-webhook-client, apiserver.example' });
    expect(webhook?.clientAuth).toEqual({ caFile: '/etc/ca.crt', allowedNames: ['kube-apiserver-webhook-client', 'apiserver.example'] });
    expect(() => parseOperatorOptions([...base, '--webhook-service-name=s', '--webhook-client-names=a'], {})).toThrow('--webhook-client-names needs --webhook-client-ca-file');
    expect(() => parseOperatorOptions([...base, '--webhook-service-name=s', '--webhook-client-ca-file=/c', '--webhook-client-names=*.x'], {})).toThrow('--webhook-client-names: "*.x"');
  });
});

describe('operator options: the limits store', () => {
  it('read the stores file from a flag or the environment, and none by default', () => {
    expect(parseOperatorOptions(base, {}).limitsStoreConfig).toBeUndefined();
    expect(parseOperatorOptions([...base, '--limits-store-config=/etc/aio/limits-store/stores.json'], {}).limitsStoreConfig).toBe('/etc/aio/limits-store/stores.json');
    expect(parseOperatorOptions(base, { OPERATOR_LIMITS_STORE_CONFIG: '/run/stores.json' }).limitsStoreConfig).toBe('/run/stores.json');
  });

  it('refuse the removed single password for every store', () => {
    expect(() => parseOperatorOptions([...base, '--limits-store-password-file=/etc/aio/redis/password'], {})).toThrow("'--limits-store-password-file'");
    expect(() => parseOperatorOptions(base, { OPERATOR_LIMITS_STORE_PASSWORD_FILE: '/run/redis' })).toThrow('--limits-store-config');
  });
});

describe('operator options: the admin policy', () => {
  it('is the built-in closed default without --policy-file, development trust as the flag says', () => {
    expect(parseOperatorOptions(base, {}).policy.default).toMatchObject({ proxyImages: [], unattestedUpstreamHosts: [], limitsStores: [], developmentTrust: false });
    expect(parseOperatorOptions([...base, '--allow-development-trust'], {}).policy.default.developmentTrust).toBe(true);
  });

  it('is read once from --policy-file or OPERATOR_POLICY_FILE, frozen, and a bad file stops the start naming the option and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aio-options-'));
    const good = join(dir, 'policy.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify({ name: 'attested-inference-policy', default: { limitsStores: ['rediss://redis.limits.svc:6380'] }, namespaces: { 'team-a': { proxyImages: ['r/p@sha256:' + 'd'.repeat(64)] } } }));
    writeFileSync(bad, JSON.stringify({ default: { unattestedUpstreamHosts: ['https://api.example/v1'] } }));
    const policy = parseOperatorOptions([...base, `--policy-file=${good}`], {}).policy;
    expect(policy.default.limitsStores).toEqual(['rediss://redis.limits.svc:6380']);
    expect(Object.isFrozen(policy.namespaces['team-a'])).toBe(true);
    expect(parseOperatorOptions(base, { OPERATOR_POLICY_FILE: good }).policy.namespaces['team-a']?.proxyImages).toHaveLength(1);
    expect(() => parseOperatorOptions([...base, `--policy-file=${bad}`], {})).toThrow(/^--policy-file .*bad\.json: default\.unattestedUpstreamHosts\[0\] must be host or host:port/);
    expect(() => parseOperatorOptions([...base, `--policy-file=${join(dir, 'none.json')}`], {})).toThrow('--policy-file');
  });
});

describe('operator options: the proxy image', () => {
  it('is read from OPERATOR_PROXY_IMAGE (what the chart and config/ set, so kustomize images: can change it), the flag winning', () => {
    const digest = `ghcr.io/acme/attested-inference-proxy@sha256:${'a'.repeat(64)}`;
    expect(parseOperatorOptions([], { OPERATOR_PROXY_IMAGE: digest }).proxyImage).toBe(digest);
    expect(parseOperatorOptions(base, { OPERATOR_PROXY_IMAGE: digest }).proxyImage).toBe('registry.local/proxy:1');
    expect(() => parseOperatorOptions([], {})).toThrow('--proxy-image (or OPERATOR_PROXY_IMAGE) is required');
  });

  it('takes pull secrets for the proxy pods from --proxy-image-pull-secrets or the environment, none by default', () => {
    expect(parseOperatorOptions(base, {}).proxyImagePullSecrets).toEqual([]);
    expect(parseOperatorOptions([...base, '--proxy-image-pull-secrets=registry-a, registry-b'], {}).proxyImagePullSecrets).toEqual(['registry-a', 'registry-b']);
    expect(parseOperatorOptions(base, { OPERATOR_PROXY_IMAGE_PULL_SECRETS: 'registry-a' }).proxyImagePullSecrets).toEqual(['registry-a']);
  });

  it('refuses a pull secret that cannot be a Secret name, naming the option and the name', () => {
    for (const bad of ['Registry', 'a_b', 'x'.repeat(254), '-a', 'a/b']) {
      expect(() => parseOperatorOptions([...base, `--proxy-image-pull-secrets=ok,${bad}`], {}), bad).toThrow(`--proxy-image-pull-secrets: ${JSON.stringify(bad)} is not a Secret name`);
    }
  });
});

describe('operator options: rollout pacing', () => {
  it('rolls at most 5 endpoints of an upstream at once by default, and takes --max-concurrent-rollouts or its variable', () => {
    expect(parseOperatorOptions(base, {}).maxConcurrentRollouts).toBe(5);
    expect(parseOperatorOptions([...base, '--max-concurrent-rollouts=2'], {}).maxConcurrentRollouts).toBe(2);
    expect(parseOperatorOptions(base, { OPERATOR_MAX_CONCURRENT_ROLLOUTS: '9' }).maxConcurrentRollouts).toBe(9);
  });

  it('refuses a limit that is not a positive integer, naming the flag', () => {
    expect(() => parseOperatorOptions([...base, '--max-concurrent-rollouts=0'], {})).toThrow(/--max-concurrent-rollouts must be a positive integer, got "0"/);
    expect(() => parseOperatorOptions([...base, '--max-concurrent-rollouts=two'], {})).toThrow(/--max-concurrent-rollouts/);
  });
});
