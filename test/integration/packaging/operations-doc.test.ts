import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../../hack/manifests/render.ts';
import { runCommand } from '../../harness/commands.ts';
import { testCluster } from '../cluster.ts';
import { expectOk, parseObjects } from './chart.ts';

/** command finds the one inline `kubectl …` command of docs/operations.md that starts with `prefix`. */
async function command(prefix: string): Promise<string[]> {
  const text = await readFile(join(ROOT, 'docs/operations.md'), 'utf8');
  const found = [...text.matchAll(/`(kubectl [^`]+)`/g)].map((m) => m[1] ?? '').filter((c) => c.startsWith(prefix));
  expect(found, prefix).toHaveLength(1);
  return (found[0] ?? '').split(' ').slice(1);
}

describe('docs/operations.md, checked against kubectl and the kustomize tree', () => {
  const cluster = testCluster();
  const env = { ...process.env, PATH: `${inject('kubeBinDir')}:${process.env.PATH ?? ''}`, HOME: inject('kubeHome'), KUBECONFIG: cluster.kubeconfigPath };

  it('upgrades the CRD with the command it gives, over the CRD in the cluster (server-side dry run)', async () => {
    await cluster.kubectl(['apply', '--server-side', '-f', join(ROOT, 'crds', 'inference.attested.dev_inferenceendpoints.yaml')]);
    const text = await readFile(join(ROOT, 'docs/operations.md'), 'utf8');
    const line = text.split('\n').filter((l) => l.startsWith('helm show crds '));
    expect(line).toHaveLength(1);
    expect(line[0]).toContain('kubectl apply --server-side --force-conflicts -f -');
    const script = `cd "$AIO_ROOT"\n${(line[0] ?? '').replace('kubectl apply ', 'kubectl apply --dry-run=server ')}`;
    const upgraded = await runCommand('bash', ['-euo', 'pipefail', '-c', script], { env: { ...env, AIO_ROOT: ROOT } });
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/inferenceendpoints.inference.attested.dev serverside-applied (server dry run)');
  });

  it('removes a kustomize install but keeps the CRD, and with it the endpoints, with the command it gives', async () => {
    const args = await command('kubectl delete -k config/default -l ');
    const deleted = await cluster.kubectl([...args.map((a) => (a === 'config/default' ? join(ROOT, 'config', 'default') : a)), '--dry-run=client', '-o', 'name']);
    const names = expectOk(deleted, 'kubectl delete --dry-run=client').trim().split('\n').sort();
    const all = parseObjects(expectOk(await cluster.kubectl(['kustomize', join(ROOT, 'config', 'default')]), 'kubectl kustomize'));
    expect(names.some((n) => n.startsWith('customresourcedefinition'))).toBe(false);
    // Every other object of the tree is selected: nothing of the operator is left behind.
    expect(names).toHaveLength(all.filter((o) => o.kind !== 'CustomResourceDefinition').length);
    expect(names).toContain('deployment.apps/attested-inference-operator');
    expect(names).toContain('namespace/attested-inference-system');
  });
});
