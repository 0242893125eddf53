import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, KIND, type InferenceEndpoint } from '../../../operator/api/v1alpha1/types.ts';
import { policyViolations } from '../../../operator/policy/admin-policy.ts';
import { parsePolicy } from '../../../operator/policy/load.ts';
import type { CommandResult } from '../../harness/commands.ts';
import { waitFor } from '../../harness/processes.ts';
import { testCluster } from '../cluster.ts';
import { installCrd } from '../operator/support.ts';
import type { Spec } from '../operator/crd-cases.ts';
import { EXCEPTION_CASES, OWN_PROXY, policyValues, TENANT_CASES, tinfoil, type AdmissionCase } from './admission-cases.ts';
import { CHART_DIR, expectOk, parseObjects, type Rendered } from './chart.ts';

const suffix = randomBytes(3).toString('hex');
const RELEASE_NS = `aio-policy-${suffix}`;
const TENANT_NS = `aio-tenant-${suffix}`;
const EXCEPTION_NS = `aio-except-${suffix}`;
const TENANT = `tenant-${suffix}`;
const ADMISSION_KINDS = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

/** admissionObjects are the rendered objects that make up the admission policy: the policy, its bindings, their params. */
const admissionObjects = (objects: readonly Rendered[]): Rendered[] =>
  objects.filter((o) => ADMISSION_KINDS.has(o.kind) || (o.kind === 'ConfigMap' && o.metadata.name.startsWith('attested-inference-policy')));

/** tenantRole lets the tenant write InferenceEndpoints in `namespace`, and nothing else. */
const tenantRole = (namespace: string): string => stringify({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'endpoint-writer', namespace },
  rules: [{ apiGroups: ['inference.attested.dev'], resources: ['inferenceendpoints'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] }],
}) + '---\n' + stringify({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'endpoint-writer', namespace },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'endpoint-writer' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: TENANT }],
});

/**
 * asStored is `spec` with the CRD's defaults of the fields the policy reads (attestation, proxy),
 * as the operator sees an endpoint the API server stored.
 */
const asStored = (namespace: string, spec: Spec): InferenceEndpoint => ({
  apiVersion: API_VERSION, kind: KIND, metadata: { name: 'case', namespace },
  spec: { ...spec, attestation: { trust: 'Verified', configRepo: 'tinfoilsh/confidential-model-router', ...(spec.attestation as object | undefined) }, proxy: { logLevel: 'info', ...(spec.proxy as object | undefined) } },
}) as unknown as InferenceEndpoint;

const endpoint = (name: string, spec: Spec): string => JSON.stringify({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec });

describe('the chart\'s admission policy refuses what only the admin may decide, as the tenant submits it', () => {
  const cluster = testCluster();
  const kubectl = (args: readonly string[], input?: string): Promise<CommandResult> => cluster.kubectl(args, input);
  const asTenant = (args: readonly string[], input?: string): Promise<CommandResult> => cluster.kubectl([...args, `--as=${TENANT}`], input);
  let rendered: Rendered[] = [];
  let counter = 0;

  /** submit creates an endpoint as the tenant, for real (an admitted one is stored). */
  const submit = (namespace: string, spec: Spec): Promise<CommandResult> =>
    asTenant(['create', '-n', namespace, '-f', '-'], endpoint(`ep-${String(++counter)}`, spec));

  const expectAnswer = async (namespace: string, c: AdmissionCase): Promise<void> => {
    const result = await submit(namespace, c.spec);
    if (c.refused === undefined) {
      expect(result.code, `${c.title} should be admitted: ${result.stderr}`).toBe(0);
    } else {
      expect(result.code, `${c.title} should be refused, was admitted`).not.toBe(0);
      expect(result.stderr, c.title).toMatch(c.refused);
    }
  };

  beforeAll(async () => {
    await installCrd(cluster);
    for (const ns of [RELEASE_NS, TENANT_NS, EXCEPTION_NS]) expectOk(await kubectl(['create', 'namespace', ns]), `create namespace ${ns}`);
    for (const ns of [TENANT_NS, EXCEPTION_NS]) expectOk(await kubectl(['apply', '-f', '-'], tenantRole(ns)), 'tenant Role');
    // An endpoint from before the policy was installed: it names an image the policy refuses.
    expectOk(await kubectl(['create', '-n', TENANT_NS, '-f', '-'], endpoint('before-policy', tinfoil({ proxy: { image: 'old.example/proxy:1' } }))), 'create before-policy');
    const { sets, jsonSets } = policyValues(EXCEPTION_NS);
    const args = ['template', 'aio', CHART_DIR, '--namespace', RELEASE_NS, ...sets.flatMap((s) => ['--set', s]), ...jsonSets.flatMap((s) => ['--set-json', s])];
    rendered = parseObjects(expectOk(await cluster.helm(args), 'helm template'));
    const policy = admissionObjects(rendered);
    if (policy.length > 0) expectOk(await kubectl(['apply', '--server-side', '-f', '-'], policy.map((o) => stringify(o)).join('---\n')), 'apply the admission policy');
    // A new policy takes effect once the API server has loaded it (its informer), a moment after the write.
    await waitFor('the admission policy in effect', async () => (await submitDryRun(TENANT_NS, tinfoil({ proxy: { image: 'evil.example/probe:1' } }))).code !== 0, { timeoutMs: 30_000, intervalMs: 500 })
      .catch(() => undefined);
  });

  const submitDryRun = (namespace: string, spec: Spec): Promise<CommandResult> =>
    asTenant(['create', '--dry-run=server', '-n', namespace, '-f', '-'], endpoint('probe', spec));

  afterAll(async () => {
    // The policy is cluster-wide: later test files create Development endpoints, so it goes first.
    const names = admissionObjects(rendered).filter((o) => ADMISSION_KINDS.has(o.kind)).map((o) => `${o.kind.toLowerCase()}.admissionregistration.k8s.io/${o.metadata.name}`);
    if (names.length > 0) await kubectl(['delete', '--ignore-not-found', ...names]);
    await kubectl(['delete', 'namespace', RELEASE_NS, TENANT_NS, EXCEPTION_NS, '--ignore-not-found', '--wait=false']);
  });

  it('renders a ValidatingAdmissionPolicy, a binding per exception plus the default one, and their params', () => {
    const policy = admissionObjects(rendered);
    expect(policy.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/attested-inference-policy',
      `ConfigMap/attested-inference-policy-${EXCEPTION_NS}`,
      'ValidatingAdmissionPolicy/attested-inference-policy',
      'ValidatingAdmissionPolicyBinding/attested-inference-policy',
      `ValidatingAdmissionPolicyBinding/attested-inference-policy-${EXCEPTION_NS}`,
    ]);
  });

  it('is accepted by the API server, every expression type-checked against the CRD without a warning', async () => {
    const status = async (): Promise<{ observedGeneration?: number; typeChecking?: { expressionWarnings?: unknown[] } }> =>
      (JSON.parse(expectOk(await kubectl(['get', 'validatingadmissionpolicy', 'attested-inference-policy', '-o', 'json']), 'get policy')) as { status?: object }).status ?? {};
    await waitFor('the policy type-checked', async () => ((await status()).observedGeneration ?? 0) >= 1, { timeoutMs: 30_000, intervalMs: 500 });
    const checked = (await status()).typeChecking;
    expect(checked, 'no type check recorded').toBeDefined();
    expect(checked?.expressionWarnings ?? []).toEqual([]);
  });

  it('the tenant may write InferenceEndpoints in its namespace and nothing else', async () => {
    expect((await asTenant(['auth', 'can-i', 'create', 'inferenceendpoints.inference.attested.dev', '-n', TENANT_NS])).stdout.trim()).toBe('yes');
    expect((await asTenant(['auth', 'can-i', 'update', 'inferenceendpoints.inference.attested.dev', '--subresource=status', '-n', TENANT_NS])).stdout.trim()).toBe('no');
    expect((await asTenant(['auth', 'can-i', 'update', 'configmaps', '-n', RELEASE_NS])).stdout.trim()).toBe('no');
    expect((await asTenant(['auth', 'can-i', 'create', 'inferenceendpoints.inference.attested.dev', '-n', RELEASE_NS])).stdout.trim()).toBe('no');
  });

  for (const c of TENANT_CASES) {
    it(`in an ordinary namespace: ${c.title} is ${c.refused === undefined ? 'admitted' : 'refused'}`, async () => {
      await expectAnswer(TENANT_NS, c);
    });
  }

  for (const c of EXCEPTION_CASES) {
    it(`in the exception namespace: ${c.title} is ${c.refused === undefined ? 'admitted' : 'refused'}`, async () => {
      await expectAnswer(EXCEPTION_NS, c);
    });
  }

  it('the operator, reading the policy file of the same render, decides every case as the API server does', () => {
    const file = rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'attested-inference-operator-policy') as { data?: Record<string, string> } | undefined;
    const policy = parsePolicy(JSON.parse(file?.data?.['policy.json'] ?? 'null'), false);
    const cases = [...TENANT_CASES.map((c) => [TENANT_NS, c] as const), ...EXCEPTION_CASES.map((c) => [EXCEPTION_NS, c] as const)];
    for (const [namespace, c] of cases) {
      const violations = policyViolations(asStored(namespace, c.spec), policy, { proxyImage: OWN_PROXY, allowDevelopmentTrust: false });
      if (c.refused === undefined) expect(violations, c.title).toEqual([]);
      else expect(violations[0]?.message, c.title).toMatch(c.refused);
    }
  });

  it('refuses an UPDATE that turns a compliant endpoint into a forbidden one, patch or replace', async () => {
    expectOk(await submit(TENANT_NS, tinfoil({})), 'create a compliant endpoint');
    const name = `ep-${String(counter)}`;
    const patched = await asTenant(['patch', 'inferenceendpoint', name, '-n', TENANT_NS, '--type=merge', '-p', JSON.stringify({ spec: { proxy: { image: 'evil.example/proxy:1' } } })]);
    expect(patched.code, 'merge patch admitted').not.toBe(0);
    expect(patched.stderr).toMatch(/spec\.proxy\.image "evil\.example\/proxy:1" is not allowed by policy attested-inference-policy \(proxyImages\)/);
    const replaced = await asTenant(['replace', '-n', TENANT_NS, '-f', '-'], endpoint(name, tinfoil({ attestation: { configRepo: 'evil/router' } })));
    expect(replaced.code, 'replace admitted').not.toBe(0);
    expect(replaced.stderr).toMatch(/spec\.attestation\.configRepo "evil\/router" is not allowed by policy attested-inference-policy \(configRepos\)/);
    const stored = JSON.parse(expectOk(await kubectl(['get', 'inferenceendpoint', name, '-n', TENANT_NS, '-o', 'json']), 'get')) as { spec: { proxy: { image?: string }; attestation: { configRepo: string } } };
    expect(stored.spec.proxy.image).toBeUndefined();
    expect(stored.spec.attestation.configRepo).toBe('tinfoilsh/confidential-model-router');
    // A compliant change still goes through.
    expectOk(await asTenant(['patch', 'inferenceendpoint', name, '-n', TENANT_NS, '--type=merge', '-p', '{"spec":{"replicas":3}}']), 'compliant patch');
  });

  it('keeps the status subresource writable, and metadata editable, on an endpoint the policy refuses', async () => {
    const status = await kubectl(['patch', 'inferenceendpoint', 'before-policy', '-n', TENANT_NS, '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":1}}']);
    expect(status.code, status.stderr).toBe(0);
    const labelled = await kubectl(['label', 'inferenceendpoint', 'before-policy', '-n', TENANT_NS, 'reviewed=true']);
    expect(labelled.code, labelled.stderr).toBe(0);
    // Any change of its spec must bring it within the policy.
    const scaled = await asTenant(['patch', 'inferenceendpoint', 'before-policy', '-n', TENANT_NS, '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    expect(scaled.code, 'a spec change of a refused endpoint admitted').not.toBe(0);
    expect(scaled.stderr).toMatch(/spec\.proxy\.image "old\.example\/proxy:1" is not allowed by policy attested-inference-policy \(proxyImages\)/);
  });

  it('refuses every endpoint when its params are gone (parameterNotFoundAction: Deny)', async () => {
    expectOk(await kubectl(['delete', 'configmap', `attested-inference-policy-${EXCEPTION_NS}`, '-n', RELEASE_NS]), 'delete the exception params');
    await waitFor('the exception params gone', async () => (await submitDryRun(EXCEPTION_NS, tinfoil({ attestation: { configRepo: 'team-a/model-router' } }))).code !== 0, { timeoutMs: 30_000, intervalMs: 500 });
    const result = await submitDryRun(EXCEPTION_NS, tinfoil({ attestation: { configRepo: 'team-a/model-router' } }));
    expect(result.stderr).toMatch(/attested-inference-policy/);
  });
});
