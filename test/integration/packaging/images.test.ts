import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOperatorOptions } from '../../../operator/config.ts';
import { ROOT } from '../../../hack/manifests/render.ts';
import { testCluster } from '../cluster.ts';
import { CHART_DIR, expectOk, find, operatorContainer, parseObjects, type Rendered } from './chart.ts';

const run = promisify(execFile);
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const PROXY_DIGEST = `sha256:${'cd'.repeat(32)}`;

/** Container is the operator container's fields these tests read. */
interface Container {
  readonly image: string;
  readonly args: string[];
  readonly env: { readonly name: string; readonly value?: string }[];
}

/** optionsOf parses the rendered operator container the way the operator does at start. */
const optionsOf = (c: Container): ReturnType<typeof parseOperatorOptions> => {
  const env: NodeJS.ProcessEnv = {};
  for (const e of c.env) if (e.value !== undefined) env[e.name] = e.value;
  return parseOperatorOptions(c.args.filter((a) => !a.startsWith('--policy-file=') && !a.startsWith('--limits-store-config=')), env);
};

const appVersion = async (): Promise<string> => String((parse(await readFile(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: unknown }).appVersion);

/** params are the admission policy's default params ConfigMap data. */
const params = (objects: readonly Rendered[]): Record<string, string> => (find(objects, 'ConfigMap', 'attested-inference-policy') as unknown as { data: Record<string, string> }).data;

describe('images: one tag story, digests, pull secrets, the Kubernetes version claim', () => {
  const cluster = testCluster();
  const template = async (...sets: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    cluster.helm(['template', 'attested-inference-operator', CHART_DIR, '--namespace', 'aio-images', ...sets.flatMap((s) => (s.startsWith('--') ? [s] : ['--set', s]))]);
  const rendered = async (...sets: string[]): Promise<Rendered[]> => parseObjects(expectOk(await template(...sets), 'helm template'));
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aio-images-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('defaults to the tags hack/images.sh builds: the chart appVersion, for both images', async () => {
    const version = await appVersion();
    const printed = await run('bash', [join(ROOT, 'hack/images.sh'), '--print-tags'], { env: { ...process.env, IMAGE_TAG: '' } });
    const built = Object.fromEntries(printed.stdout.trim().split('\n').map((line) => line.split('=') as [string, string]));
    expect(built).toMatchObject({ proxy: `registry.local/attested-inference-proxy:${version}`, operator: `registry.local/attested-inference-operator:${version}` });
    const objects = await rendered();
    const container = operatorContainer(objects) as unknown as Container;
    expect(container.image).toBe(built.operator);
    expect(optionsOf(container).proxyImage).toBe(built.proxy);
    expect(params(objects).proxyImages).toBe(built.proxy);
    const other = await run('bash', [join(ROOT, 'hack/images.sh'), '--print-tags'], { env: { ...process.env, IMAGE_TAG: '1.2.3', IMAGE_REGISTRY: 'ghcr.io/acme' } });
    expect(other.stdout).toContain('proxy=ghcr.io/acme/attested-inference-proxy:1.2.3\n');
  });

  it('passes the proxy image in the environment, so a kustomize images: entry can change it (no --proxy-image argument)', async () => {
    const container = operatorContainer(await rendered()) as unknown as Container;
    expect(container.args.filter((a) => a.startsWith('--proxy-image='))).toEqual([]);
    expect(container.env.find((e) => e.name === 'OPERATOR_PROXY_IMAGE')?.value).toMatch(/^registry\.local\/attested-inference-proxy:/);
  });

  it('uses a digest instead of the tag when one is set, for either image', async () => {
    const objects = await rendered('image.tag=9.9.9', `image.digest=${DIGEST}`, 'proxy.image.tag=9.9.9', `proxy.image.digest=${PROXY_DIGEST}`, 'proxy.image.repository=ghcr.io/acme/attested-inference-proxy');
    const container = operatorContainer(objects) as unknown as Container;
    expect(container.image).toBe(`registry.local/attested-inference-operator@${DIGEST}`);
    expect(optionsOf(container).proxyImage).toBe(`ghcr.io/acme/attested-inference-proxy@${PROXY_DIGEST}`);
    // The admission policy always allows the operator's own proxy image: the same string.
    expect(params(objects).proxyImages).toBe(`ghcr.io/acme/attested-inference-proxy@${PROXY_DIGEST}`);
    const tagged = operatorContainer(await rendered('image.tag=9.9.9')) as unknown as Container;
    expect(tagged.image).toBe('registry.local/attested-inference-operator:9.9.9');
  });

  it('refuses a digest that is not sha256:<64 hex>, naming the value', async () => {
    for (const bad of ['9.9.9', 'sha256:abc', `sha512:${'a'.repeat(128)}`]) {
      const out = await template(`proxy.image.digest=${bad}`);
      expect(out.code, bad).not.toBe(0);
      expect(out.stderr, bad).toMatch(/proxy\.image\.digest|\/proxy\/image\/digest/);
    }
  });

  it('hands proxy.imagePullSecrets to the operator, which renders them into every proxy pod', async () => {
    const none = operatorContainer(await rendered()) as unknown as Container;
    expect(none.args.filter((a) => a.startsWith('--proxy-image-pull-secrets'))).toEqual([]);
    expect(optionsOf(none).proxyImagePullSecrets).toEqual([]);
    const container = operatorContainer(await rendered('proxy.imagePullSecrets[0].name=registry-a', 'proxy.imagePullSecrets[1].name=registry-b')) as unknown as Container;
    expect(container.args).toContain('--proxy-image-pull-secrets=registry-a,registry-b');
    expect(optionsOf(container).proxyImagePullSecrets).toEqual(['registry-a', 'registry-b']);
    const bad = await template('proxy.imagePullSecrets[0].name=Not_A_Name');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/imagePullSecrets/);
  });

  it('claims exactly the Kubernetes minor version the harness builds and tests, as the README says', async () => {
    const chart = parse(await readFile(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { kubeVersion: string };
    const claimed = /^>=(\d+)\.(\d+)\.0-0$/.exec(chart.kubeVersion);
    expect(claimed, chart.kubeVersion).not.toBeNull();
    for (const script of ['hack/k8s-binaries.sh', 'hack/kind.sh']) {
      const built = /K8S_VERSION="\$\{K8S_VERSION:-v(\d+)\.(\d+)\.\d+\}"/.exec(await readFile(join(ROOT, script), 'utf8'));
      expect(built?.slice(1, 3), script).toEqual(claimed?.slice(1, 3));
    }
    const minor = `${claimed?.[1] ?? ''}.${claimed?.[2] ?? ''}`;
    expect(await readFile(join(ROOT, 'README.md'), 'utf8')).toContain(`Kubernetes ${minor} or newer`);
    expect((await template(`--kube-version=${minor}.0`)).code).toBe(0);
    const older = await template(`--kube-version=1.${String(Number(claimed?.[2]) - 1)}.9`);
    expect(older.code).not.toBe(0);
    expect(older.stderr).toContain('kubeVersion');
  });

  it('lets a kustomize overlay set both images, by tag or digest, with a plain images: list', async () => {
    await writeFile(join(dir, 'kustomization.yaml'), stringify({
      resources: [join(relative(dir, ROOT), 'config', 'default')],
      images: [
        { name: 'registry.local/attested-inference-operator', newName: 'ghcr.io/acme/attested-inference-operator', newTag: '2.0.0' },
        { name: 'registry.local/attested-inference-proxy', newName: 'ghcr.io/acme/attested-inference-proxy', digest: PROXY_DIGEST },
      ],
    }));
    const objects = parseObjects(expectOk(await cluster.kubectl(['kustomize', dir]), 'kubectl kustomize'));
    const container = operatorContainer(objects) as unknown as Container;
    expect(container.image).toBe('ghcr.io/acme/attested-inference-operator:2.0.0');
    expect(optionsOf(container).proxyImage).toBe(`ghcr.io/acme/attested-inference-proxy@${PROXY_DIGEST}`);
    // Only the image values change: the other environment variables are as the base has them.
    const base = operatorContainer(parseObjects(expectOk(await cluster.kubectl(['kustomize', join(ROOT, 'config', 'default')]), 'kubectl kustomize'))) as unknown as Container;
    expect(container.env.filter((e) => e.name !== 'OPERATOR_PROXY_IMAGE')).toEqual(base.env.filter((e) => e.name !== 'OPERATOR_PROXY_IMAGE'));
  });
});
