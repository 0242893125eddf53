// Lists the licence of every production dependency (what the images bundle) and names the
// copyleft ones, so a release can say which images carry AGPL components.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Tree {
  dependencies?: Record<string, Tree & { path?: string; version?: string }>;
}

interface Manifest {
  license?: string | { type?: string };
  licenses?: { type?: string }[];
}

/** licenseOf reads the SPDX expression, or the older `license: { type }` and `licenses: [{ type }]` forms. */
function licenseOf(manifest: Manifest): string {
  if (typeof manifest.license === 'string') return manifest.license;
  if (typeof manifest.license?.type === 'string') return manifest.license.type;
  const types = (manifest.licenses ?? []).map((l) => l.type).filter((t): t is string => typeof t === 'string');
  return types.length > 0 ? types.join(' OR ') : 'UNKNOWN';
}

function collect(tree: Tree, into: Map<string, string>): void {
  for (const [name, node] of Object.entries(tree.dependencies ?? {})) {
    if (node.path === undefined || into.has(`${name}@${node.version ?? '?'}`)) continue;
    const manifest = JSON.parse(readFileSync(join(node.path, 'package.json'), 'utf8')) as Manifest;
    const license = licenseOf(manifest);
    into.set(`${name}@${node.version ?? '?'}`, license);
    collect(node, into);
  }
}

const tree = JSON.parse(execFileSync('npm', ['ls', '--omit=dev', '--all', '--long', '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Tree;
const licenses = new Map<string, string>();
collect(tree, licenses);
const byLicense = new Map<string, string[]>();
for (const [pkg, license] of licenses) byLicense.set(license, [...(byLicense.get(license) ?? []), pkg]);
for (const [license, pkgs] of [...byLicense].sort((a, b) => b[1].length - a[1].length)) {
  console.log(`${license.padEnd(28)} ${String(pkgs.length).padStart(4)}`);
}
const copyleft = [...licenses].filter(([, l]) => /GPL/i.test(l));
console.log(`\ncopyleft production dependencies (bundled in both images):`);
for (const [pkg, license] of copyleft) console.log(`  ${pkg}  ${license}`);
const unknown = [...licenses].filter(([, l]) => l === 'UNKNOWN');
if (unknown.length > 0) {
  console.error(`packages without a licence field: ${unknown.map(([p]) => p).join(', ')}`);
  process.exitCode = 1;
}
