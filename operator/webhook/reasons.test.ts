import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REASONS } from './reasons.ts';

describe('the reason codes', () => {
  it('are each documented in docs/sidecar-injection.md with the same sentence', () => {
    const docs = readFileSync(new URL('../../docs/sidecar-injection.md', import.meta.url), 'utf8');
    for (const [code, { sentence }] of Object.entries(REASONS)) expect(docs).toContain(`| \`${code}\` | ${sentence.replaceAll('|', '\\|')} |`);
  });
});
