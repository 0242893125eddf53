// Lists the licence of every production dependency (what the images bundle), names the copyleft
// ones, and keeps NOTICE in step: `npm run licenses` fails when NOTICE is stale, `-- --write`
// rewrites it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCopyleft, renderNotice, sourceUrl, type Component } from './licenses/notice.ts';

interface Tree {
  dependencies?: Record<string, Tree & { path?: string; version?: string }>;
}

interface Manifest {
  license?: string | { type?: string };
  licenses?: { type?: string }[];
  repository?: unknown;
}

/** licenseOf reads the SPDX expression, or the older `license: { type }` and `licenses: [{ type }]` forms. */
function licenseOf(manifest: Manifest): string {
  if (typeof manifest.license === 'string') return manifest.license;
  if (typeof manifest.license?.type === 'string') return manifest.license.type;
  const types = (manifest.licenses ?? []).map((l) => l.type).filter((t): t is string => typeof t === 'string');
  return types.length > 0 ? types.join(' OR ') : 'UNKNOWN';
}

function collect(tree: Tree, into: Map<string, Component>): void {
  for (const [name, node] of Object.entries(tree.dependencies ?? {})) {
    const id = `${name}@${node.version ?? '?'}`;
    if (node.path === undefined || into.has(id)) continue;
    const manifest = JSON.parse(readFileSync(join(node.path, 'package.json'), 'utf8')) as Manifest;
    const source = sourceUrl(manifest.repository);
    into.set(id, { name, version: node.version ?? '?', license: licenseOf(manifest), ...(source === undefined ? {} : { source }) });
    collect(node, into);
  }
}

const root = join(import.meta.dirname, '..');
const tree = JSON.parse(execFileSync('npm', ['ls', '--omit=dev', '--all', '--long', '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 })) as Tree;
const found = new Map<string, Component>();
collect(tree, found);
const components = [...found.values()];
const counts = new Map<string, number>();
for (const c of components) counts.set(c.license, (counts.get(c.license) ?? 0) + 1);
for (const [license, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${license.padEnd(28)} ${String(n).padStart(4)}`);
console.log(`\ncopyleft production dependencies (bundled in both images):`);
for (const c of components.filter((x) => isCopyleft(x.license))) console.log(`  ${c.name}@${c.version}  ${c.license}  ${c.source ?? ''}`);
const unknown = components.filter((c) => c.license === 'UNKNOWN');
if (unknown.length > 0) {
  console.error(`packages without a licence field: ${unknown.map((c) => c.name).join(', ')}`);
  process.exitCode = 1;
}
const noticePath = join(root, 'NOTICE');
const notice = renderNotice(components);
if (process.argv.includes('--write')) {
  writeFileSync(noticePath, notice);
  console.log('\nNOTICE written');
} else if (readFileSync(noticePath, 'utf8') !== notice) {
  console.error('\nNOTICE is not in step with the production dependencies: run `npm run licenses -- --write`');
  process.exitCode = 1;
} else {
  console.log('\nNOTICE is in step with the production dependencies');
}
