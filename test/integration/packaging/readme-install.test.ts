import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../../hack/manifests/render.ts';
import { runCommand } from '../../harness/commands.ts';
import { testCluster } from '../cluster.ts';
import { expectOk } from './chart.ts';

/** Step is one numbered step of the README's "Install on a cluster" section and its shell blocks. */
interface Step {
  readonly title: string;
  readonly blocks: string[];
}

/** installSteps reads the numbered steps of "## Install on a cluster" with the ```sh blocks under each. */
async function installSteps(): Promise<Step[]> {
  const text = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('\n## Install on a cluster\n');
  expect(start, 'README.md has an "Install on a cluster" section').toBeGreaterThan(-1);
  const rest = text.slice(start + 1);
  const section = rest.slice(0, rest.indexOf('\n## ', 1));
  const steps: Step[] = [];
  for (const part of section.split(/^(?=\d+\. \*\*)/m).slice(1)) {
    const title = /^\d+\. \*\*([^*]+)\*\*/.exec(part)?.[1] ?? '';
    const blocks = [...part.matchAll(/^ {3}```sh\n([\s\S]*?)^ {3}```$/gm)].map((m) => (m[1] ?? '').replace(/^ {3}/gm, ''));
    steps.push({ title, blocks });
  }
  return steps;
}

/** lines are a block's commands, continuation lines joined. */
const lines = (block: string): string[] => block.replace(/\\\n\s*/g, '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

const RELEASE_NS = 'attested-inference-system';
const APP_NS = 'team-a';

describe("the README's install steps, as written, on the local control plane", () => {
  const cluster = testCluster();
  const binDir = inject('kubeBinDir');
  const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}`, HOME: inject('kubeHome'), KUBECONFIG: cluster.kubeconfigPath, REGISTRY: 'registry.local', TINFOIL_API_KEY: 'not-a-real-key' };
  // The README says to run the steps from the repository root.
  const sh = (script: string): ReturnType<typeof runCommand> => runCommand('bash', ['-euo', 'pipefail', '-c', `cd "$AIO_ROOT"\n${script}`], { env: { ...env, AIO_ROOT: ROOT }, timeoutMs: 240_000 });
  /** gone waits until a namespace another test (or an earlier run) deletes is gone, so a step can create it. */
  const gone = async (namespace: string): Promise<void> => {
    for (let i = 0; i < 120; i++) {
      if ((await cluster.kubectl(['get', 'namespace', namespace, '-o', 'name'])).code !== 0) return;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    throw new Error(`namespace ${namespace} is still there`);
  };
  let steps: Step[];
  beforeAll(async () => {
    steps = await installSteps();
    await gone(RELEASE_NS);
    await gone(APP_NS);
  });
  afterAll(async () => {
    await cluster.helm(['uninstall', 'attested-inference-operator', '--namespace', RELEASE_NS, '--ignore-not-found', '--wait']);
    // Deleted to the end, so a later test that creates the same namespace never meets it terminating.
    await cluster.kubectl(['delete', 'namespace', APP_NS, RELEASE_NS, '--ignore-not-found', '--wait=true', '--timeout=150s']);
  });

  it('are five numbered steps: images, operator, namespace and Secret, endpoint, check', () => {
    expect(steps.map((s) => s.title)).toEqual([
      'Build the images and push them',
      'Install the operator',
      "Create the endpoint's namespace and its provider key Secret",
      'Apply an endpoint',
      'Check it',
    ]);
    expect(steps.every((s) => s.blocks.length === 1)).toBe(true);
  });

  it('build the images with the tags the chart runs by default (checked without docker: hack/images.sh --print-tags)', async () => {
    const build = lines(steps[0]?.blocks[0] ?? '');
    const tag = /TAG=(\S+)/.exec(build[0] ?? '')?.[1];
    const appVersion = String((parse(await readFile(join(ROOT, 'charts/attested-inference-operator/Chart.yaml'), 'utf8')) as { appVersion: unknown }).appVersion);
    expect(tag).toBe(appVersion);
    expect(build.filter((l) => l.startsWith('docker push '))).toHaveLength(2);
    const printed = expectOk(await runCommand('bash', [join(ROOT, 'hack/images.sh'), '--print-tags'], { env: { ...env, IMAGE_TAG: '' } }), 'hack/images.sh --print-tags');
    expect(printed).toContain(`operator=registry.local/attested-inference-operator:${appVersion}\n`);
  });

  it('install the operator, create the namespace and the Secret, and apply the endpoint, each command as the README has it', async () => {
    for (const step of steps.slice(1, 4)) {
      const script = step.blocks[0] ?? '';
      const result = await sh(script);
      expect(result.code, `${step.title}:\n${script}\n${result.stdout}\n${result.stderr}`).toBe(0);
    }
    const endpoint = JSON.parse(expectOk(await cluster.kubectl(['get', 'ie', 'tinfoil', '-n', APP_NS, '-o', 'json']), 'kubectl get ie')) as { spec: { apiKeySecretRef: { name: string; key: string } } };
    const secret = JSON.parse(expectOk(await cluster.kubectl(['get', 'secret', endpoint.spec.apiKeySecretRef.name, '-n', APP_NS, '-o', 'json']), 'the Secret the endpoint names')) as { data: Record<string, string> };
    expect(Buffer.from(secret.data[endpoint.spec.apiKeySecretRef.key] ?? '', 'base64').toString()).toBe('not-a-real-key');
    const operator = JSON.parse(expectOk(await cluster.kubectl(['get', 'deployment', 'attested-inference-operator', '-n', RELEASE_NS, '-o', 'json']), 'kubectl get deployment')) as { spec: { template: { spec: { containers: { image: string; env: { name: string; value?: string }[] }[] } } } };
    const container = operator.spec.template.spec.containers[0];
    expect(container?.image).toMatch(/^registry\.local\/attested-inference-operator:/);
    expect(container?.env.find((e) => e.name === 'OPERATOR_PROXY_IMAGE')?.value).toMatch(/^registry\.local\/attested-inference-proxy:/);
  });

  it('check the endpoint the sample creates, waiting for Available (the wait itself needs running pods and the real provider)', async () => {
    const check = lines(steps[4]?.blocks[0] ?? '');
    const sample = parse(await readFile(join(ROOT, 'config/samples/inference_v1alpha1_inferenceendpoint_tinfoil.yaml'), 'utf8')) as { metadata: { name: string } };
    expect(check[0]).toBe(`kubectl wait --for=condition=Available ie/${sample.metadata.name} -n ${APP_NS} --timeout=5m`);
    const listed = await sh(check.slice(1).join('\n'));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${sample.metadata.name}\\s+tinfoil\\s`, 'm'));
  });
});
