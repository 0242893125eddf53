// Lists the licence of every production dependency (what the images bundle) and names the
// copyleft ones, so a release can say which images carry AGPL components.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Tree {
  dependencies?: Record<string, Tree & { path?: string; version?: string }>;
}

function collect(tree: Tree, into: Map<string, string>): void {
  for (const [name, node] of Object.entries(tree.dependencies ?? {})) {
    if (node.path === undefined || into.has(`${name}@${node.version ?? '?'}`)) continue;
    const manifest = JSON.parse(readFileSync(join(node.path, 'package.json'), 'utf8')) as { license?: unknown };
    const license = typeof manifest.license === 'string' ? manifest.license : 'UNKNOWN';
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
