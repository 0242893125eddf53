/** Component is one production dependency as the images bundle it. */
export interface Component {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** source is where the component's source code is published (its package.json `repository`), if it says. */
  readonly source?: string;
}

/** isCopyleft says whether a licence expression carries GPL-family obligations for who distributes it. */
export function isCopyleft(license: string): boolean {
  return /\b(A|L)?GPL\b|GPL-/i.test(license);
}

/** sourceUrl turns a package.json `repository` value into a browsable URL, when it names one. */
export function sourceUrl(repository: unknown): string | undefined {
  const raw = typeof repository === 'string' ? repository : (repository as { url?: unknown } | undefined)?.url;
  if (typeof raw !== 'string' || raw === '') return undefined;
  if (/^[\w.-]+\/[\w.-]+$/.test(raw)) return `https://github.com/${raw}`;
  return raw.replace(/^git\+/, '').replace(/^git:\/\//, 'https://').replace(/\.git$/, '');
}

/**
 * renderNotice is the NOTICE file: the project's own licence, then every third-party component
 * the container images bundle, grouped by licence, with the copyleft ones named first together
 * with where their source and licence text are. Deterministic, so a check can compare it.
 */
export function renderNotice(components: readonly Component[]): string {
  const sorted = [...components].sort((a, b) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`));
  const copyleft = sorted.filter((c) => isCopyleft(c.license));
  const byLicense = new Map<string, Component[]>();
  for (const c of sorted) byLicense.set(c.license, [...(byLicense.get(c.license) ?? []), c]);
  const lines = [
    'attested-inference-operator',
    '',
    'The code of this project is licensed under the Apache License, Version 2.0 (LICENSE).',
    '',
    'Both container images (Dockerfile.operator, Dockerfile.proxy) also bundle the third-party',
    'components below, each under its own licence. This file is produced by `npm run licenses -- --write`',
    'and checked by `npm run licenses`.',
    '',
    'Components under copyleft licences',
    '-----------------------------------',
  ];
  for (const c of copyleft) {
    lines.push(`${c.name} ${c.version} (${c.license})`);
    lines.push(`  source: ${c.source ?? 'not named by the package'}`);
    lines.push(`  licence text: ${/AGPL-3\.0/.test(c.license) ? 'docs/licenses/AGPL-3.0.txt in this repository, /app/licenses/AGPL-3.0.txt in the images' : 'in the component\'s own package'}`);
    lines.push('  The images include the component unmodified, as published on the npm registry.');
  }
  if (copyleft.length === 0) lines.push('(none)');
  lines.push('', 'All bundled components, by licence', '----------------------------------');
  for (const [license, group] of [...byLicense].sort((a, b) => a[0].localeCompare(b[0]))) {
    lines.push('', `${license} (${String(group.length)})`);
    for (const c of group) lines.push(`  ${c.name} ${c.version}`);
  }
  return `${lines.join('\n')}\n`;
}
