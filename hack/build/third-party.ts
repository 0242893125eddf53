// The licence texts of the third-party code a bundle contains: a bundle is one file, so the
// LICENSE files that came with each package in node_modules have to travel beside it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bundled is one third-party package whose code a bundle contains. */
export interface Bundled {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** texts are the package's own licence and notice files, by file name. */
  readonly texts: readonly { readonly file: string; readonly text: string }[];
}

const LICENCE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;

/** licenceTexts reads the licence and notice files at the top of a package's folder, sorted by name. */
export function licenceTexts(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && LICENCE_FILE.test(e.name))
    .map((e) => e.name)
    .sort()
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8').trimEnd() }));
}

/**
 * renderThirdParty is THIRD-PARTY-LICENSES.txt: each bundled package with its version, its
 * licence expression and the full text of its licence files (or a line saying it ships none),
 * sorted by name and version so the file is deterministic.
 */
export function renderThirdParty(program: string, packages: readonly Bundled[]): string {
  const sorted = [...packages].sort((a, b) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`));
  const lines = [
    `Third-party code in the ${program} bundle (${String(sorted.length)} packages)`,
    '',
    'The bundle (main.js and chunks/) contains code of the packages below, each under its own',
    'licence; packages shipped unbundled keep their own folders in node_modules/. Written by',
    '`npm run build` (hack/build.ts).',
  ];
  for (const p of sorted) {
    lines.push('', '='.repeat(78), `${p.name} ${p.version} (${p.license})`, '='.repeat(78));
    if (p.texts.length === 0) lines.push('', `The package ships no licence file; its package.json names ${p.license}.`);
    for (const t of p.texts) lines.push('', `--- ${t.file}`, '', t.text);
  }
  return `${lines.join('\n')}\n`;
}
