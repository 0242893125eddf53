// Generates from the Helm chart (the one source of the operator's manifests): the chart's copy of
// crds/ and its Grafana dashboard, the kustomize tree under config/ (crd, rbac, manager, grafana,
// webhook, prometheus, default) and config/prometheus/attested-inference.rules.yaml.
//   node hack/render-manifests.ts           write the files
//   node hack/render-manifests.ts --check   write nothing; fail listing the stale files
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runCommand } from '../test/harness/commands.ts';
import { dashboardJson } from './dashboard/dashboard.ts';
import { DASHBOARD_FILE, renderedFiles, ROOT } from './manifests/render.ts';

const bin = execFileSync('bash', [join(ROOT, 'hack', 'k8s-binaries.sh')], { encoding: 'utf8' }).trim();
const check = process.argv.includes('--check');
// helm reads the dashboard from the chart, so it is written before the chart is rendered.
if (!check) await writeFile(join(ROOT, DASHBOARD_FILE), dashboardJson());
const files = await renderedFiles((args) => runCommand(join(bin, 'helm'), args));
const stale: string[] = [];
for (const [path, text] of files) {
  const full = join(ROOT, path);
  if (check) {
    if ((await readFile(full, 'utf8').catch(() => '')) !== text) stale.push(path);
    continue;
  }
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, text);
}
if (stale.length > 0) {
  console.error(`stale generated files (run: node hack/render-manifests.ts):\n  ${stale.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log(check ? `${String(files.size)} generated files are up to date` : `wrote ${String(files.size)} files`);
}
