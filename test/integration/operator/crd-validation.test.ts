import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRD_FILE } from '../../../operator/api/v1alpha1/crd.ts';
import { API_VERSION, CRD_NAME, KIND } from '../../../operator/api/v1alpha1/types.ts';
import { waitFor } from '../../harness/processes.ts';
import { createNamespace, testCluster } from '../cluster.ts';
import { ACCEPTED, MINIMAL_TINFOIL, MINIMAL_TINFOIL_DEFAULTED, REFUSED, type Spec } from './crd-cases.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const SAMPLES = join(root, 'config', 'samples');
const DEMO_NAMESPACE = 'inference-demo'; // the namespace the Deployment sample names

const manifest = (name: string, spec: Spec): string => JSON.stringify({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec });

describe('the InferenceEndpoint CRD on the real API server', () => {
  const cluster = testCluster();
  let ns: Awaited<ReturnType<typeof createNamespace>>;
  const kubectlOk = async (args: readonly string[], input?: string): Promise<string> => {
    const result = await cluster.kubectl(args, input);
    expect(result.stderr, `kubectl ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    await kubectlOk(['apply', '--server-side', '-f', join(root, CRD_FILE)]);
    await kubectlOk(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=60s']);
    ns = await createNamespace(cluster.core, 'crdv');
  });

  afterAll(async () => {
    await ns.remove();
    await cluster.kubectl(['delete', 'namespace', DEMO_NAMESPACE, '--ignore-not-found', '--wait=false']);
    // Deleting the CRD also deletes every InferenceEndpoint, so later tests start from nothing.
    const deleted = await cluster.kubectl(['delete', 'crd', CRD_NAME, '--ignore-not-found', '--timeout=60s']);
    expect(deleted.stderr).toBe('');
  });

  it('accepts a minimal Tinfoil endpoint and reads it back with every default filled in', async () => {
    await kubectlOk(['apply', '-n', ns.name, '-f', '-'], manifest('minimal', MINIMAL_TINFOIL));
    const stored = JSON.parse(await kubectlOk(['get', 'ie', 'minimal', '-n', ns.name, '-o', 'json'])) as { spec: Spec };
    expect(stored.spec).toEqual(MINIMAL_TINFOIL_DEFAULTED);
  });

  it.each(ACCEPTED)('accepts $title', async ({ spec }) => {
    await kubectlOk(['apply', '--dry-run=server', '-n', ns.name, '-f', '-'], manifest('accepted', spec));
  });

  it.each(REFUSED)('refuses $title, naming $field', async ({ spec, field, says }) => {
    const result = await cluster.kubectl(['apply', '-n', ns.name, '-f', '-'], manifest('refused', spec));
    expect(result.code).not.toBe(0);
    const line = result.stderr.split('\n').find((l) => l.includes(`${field}:`));
    expect(line, result.stderr).toBeDefined();
    expect(line).toContain(says);
  });

  it('refuses a name that is not a DNS label, since it names the proxy Service', async () => {
    const result = await cluster.kubectl(['apply', '-n', ns.name, '-f', '-'], manifest('v1.endpoint', MINIMAL_TINFOIL));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('metadata.name: Invalid value');
    expect(result.stderr).toContain('must be a DNS label');
  });

  it('explains its fields with their descriptions', async () => {
    // The API server publishes a new CRD's OpenAPI document shortly after it is Established.
    let stdout = '';
    await waitFor('kubectl explain to know the CRD', async () => {
      const result = await cluster.kubectl(['explain', 'inferenceendpoint.spec.attestation']);
      stdout = result.stdout;
      return result.code === 0;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(stdout).toContain('How the proxies and the operator verify the upstream');
    for (const field of ['trust', 'configRepo', 'bundleUrl', 'developmentPublicKey', 'policy', 'pinnedDigests', 'recheckInterval']) {
      expect(stdout).toContain(field);
    }
    const policy = await kubectlOk(['explain', 'inferenceendpoint.spec.attestation.policy']);
    expect(policy).toContain('Which verified releases the proxies accept');
    expect(policy).toMatch(/ENUM:\s+Follow\s+Pin/);
  });

  it('keeps status on its own subresource and prints it in the columns of kubectl get', async () => {
    await kubectlOk(['apply', '-n', ns.name, '-f', '-'], manifest('columns', MINIMAL_TINFOIL));
    const before = await kubectlOk(['get', 'ie', '-n', ns.name, 'columns']);
    expect(before.split('\n')[0]).toMatch(/^NAME\s+PROVIDER\s+AVAILABLE\s+READY\s+ATTESTED\s+URL\s+AGE$/);

    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = (type: string, reason: string): Spec => ({ type, status: 'True', reason, message: reason, lastTransitionTime: now, observedGeneration: 1 });
    const status = {
      observedGeneration: 1,
      conditions: [condition('Ready', 'ProxyPodsReady'), condition('Attested', 'Verified')],
      readyReplicas: 2,
      url: `http://columns.${ns.name}.svc:8080/v1`,
      attestation: { trust: 'Verified', releaseDigest: 'b'.repeat(64), measurementFingerprint: 'c'.repeat(64), verifiedAt: now },
    };
    await kubectlOk(['patch', 'ie', 'columns', '-n', ns.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status, spec: { replicas: 7 } })]);
    const stored = JSON.parse(await kubectlOk(['get', 'ie', 'columns', '-n', ns.name, '-o', 'json'])) as { status: unknown; spec: Spec; metadata: { generation: number } };
    expect(stored.status).toEqual(status);
    expect(stored.spec.replicas).toBe(2); // the status subresource ignores spec
    expect(stored.metadata.generation).toBe(1);

    const wide = await kubectlOk(['get', 'ie', '-n', ns.name, 'columns', '-o', 'wide']);
    const [header, row] = wide.split('\n');
    expect(header).toMatch(/^NAME\s+PROVIDER\s+AVAILABLE\s+READY\s+ATTESTED\s+URL\s+RELEASE\s+AGE$/);
    expect(row).toMatch(new RegExp(`^columns\\s+tinfoil\\s+True\\s+True\\s+http://columns\\.${ns.name}\\.svc:8080/v1\\s+${'b'.repeat(64)}\\s+\\d+s$`));
    expect(await kubectlOk(['get', 'attested', '-n', ns.name, '-o', 'name'])).toContain('inferenceendpoint.inference.attested.dev/columns');
  });

  it('refuses a status that breaks the schema', async () => {
    await kubectlOk(['apply', '-n', ns.name, '-f', '-'], manifest('bad-status', MINIMAL_TINFOIL));
    const bad = { conditions: [{ type: 'Ready', status: 'Maybe', reason: 'ProxyPodsReady', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
    const result = await cluster.kubectl(['patch', 'ie', 'bad-status', '-n', ns.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: bad })]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('status.conditions[0].status: Unsupported value: "Maybe"');
  });

  it('accepts the endpoint samples (server dry run)', async () => {
    for (const file of ['inference_v1alpha1_inferenceendpoint_tinfoil.yaml', 'inference_v1alpha1_inferenceendpoint_openai_compatible.yaml']) {
      const stdout = await kubectlOk(['apply', '--dry-run=server', '-n', ns.name, '-f', join(SAMPLES, file)]);
      expect(stdout).toMatch(/^inferenceendpoint\.inference\.attested\.dev\/\S+ created \(server dry run\)$/m);
    }
  });

  it('accepts the sidecar-injected Deployment sample (server dry run) in its labelled namespace', async () => {
    const file = join(SAMPLES, 'sidecar_injected_deployment.yaml');
    expect(await readFile(file, 'utf8')).toContain('inference.attested.dev/injection: enabled');
    await kubectlOk(['create', 'namespace', DEMO_NAMESPACE, '--save-config']);
    const stdout = await kubectlOk(['apply', '--dry-run=server', '-f', file]);
    expect(stdout).toContain(`namespace/${DEMO_NAMESPACE} configured (server dry run)`);
    expect(stdout).toContain('deployment.apps/chat-app created (server dry run)');
  });
});
