import { describe, expect, it } from 'vitest';
import { endpointManifest, namespaceWithKey } from '../harness/endpoints.ts';
import { BUDGET_LIMITS_STORE } from '../harness/install.ts';
import type { World } from '../harness/world-state.ts';

const NS = 'aio-e2e-tenant';
/** TENANT is a user who may write InferenceEndpoints in NS and nothing else (impersonated with --as). */
const TENANT = 'e2e-tenant';

const tenantRbac = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'endpoint-writer', namespace: NS },
    rules: [{ apiGroups: ['inference.attested.dev'], resources: ['inferenceendpoints'], verbs: ['get', 'list', 'create', 'update', 'patch'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'endpoint-writer', namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'endpoint-writer' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: TENANT }],
  },
];

type Spec = Record<string, unknown>;

/** withSpec is a development-trust endpoint on the simulator (what the suite's policy allows) with `extra` spec fields. */
function withSpec(world: World, name: string, extra: Spec): Record<string, unknown> {
  const manifest = endpointManifest(name, NS, world.publicKeyPem) as { spec: Spec };
  return { ...manifest, spec: { ...manifest.spec, ...extra } };
}

/** Scenario 8b: the chart's admission policy refuses, at the API server, what only the admin may choose. */
export function adminPolicyScenario(world: World): void {
  describe('8b. the admin policy refuses a tenant\'s forbidden endpoint at admission', () => {
    it('refuses a tenant\'s own proxy image, an unlisted unattested host and another namespace\'s limits store, naming the field and the policy; admits a compliant one', async () => {
      const { k } = world;
      await namespaceWithKey(k, NS, 'tenant-key');
      await k.apply(tenantRbac);
      try {
        const submit = async (manifest: Record<string, unknown>, dryRun = false): Promise<{ code: number; stderr: string }> =>
          k.kubectl(['create', '-n', NS, `--as=${TENANT}`, ...(dryRun ? ['--dry-run=server'] : []), '-f', '-'], JSON.stringify(manifest));
        const refused: [string, Spec, RegExp][] = [
          ['own-image', { proxy: { image: 'evil.example/proxy:1' } }, /spec\.proxy\.image "evil\.example\/proxy:1" is not allowed by policy attested-inference-policy \(proxyImages\)/],
          ['unattested', { provider: 'openai-compatible', acknowledgeUnattested: true, upstream: { url: 'https://evil.example/' }, attestation: {} },
            /spec\.upstream\.url "https:\/\/evil\.example\/" is not allowed by policy attested-inference-policy \(unattestedUpstreamHosts\)/],
          ['foreign-store', { limitsStore: { redis: { url: BUDGET_LIMITS_STORE } }, rateLimits: { namespace: { requestsPerMinute: 10 } } },
            /spec\.limitsStore\.redis\.url ".*" is not allowed by policy attested-inference-policy \(limitsStores\)/],
        ];
        for (const [name, extra, message] of refused) {
          const result = await submit(withSpec(world, name, extra));
          expect(result.code, `${name} admitted`).not.toBe(0);
          expect(result.stderr, name).toContain("ValidatingAdmissionPolicy 'attested-inference-policy'");
          expect(result.stderr, name).toMatch(message);
        }
        const compliant = await submit(withSpec(world, 'compliant', {}), true);
        expect(compliant.code, compliant.stderr).toBe(0);
        expect(await k.run(['get', 'inferenceendpoints', '-n', NS, '-o', 'name'])).toBe('');
      } finally {
        await k.kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
      }
    });
  });
}
