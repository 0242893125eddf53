import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, ProxyError } from './errors.ts';

describe('error catalogue', () => {
  it('documents every code in docs/proxy-errors.md with its status', () => {
    const doc = readFileSync(new URL('../docs/proxy-errors.md', import.meta.url), 'utf8');
    for (const [code, entry] of Object.entries(ERRORS)) expect(doc).toContain(`| \`${code}\` | ${String(entry.status)} |`);
    const documented = [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('renders OpenAI-shaped bodies', () => {
    const error = new ProxyError('model_not_found', 'no such model', { param: 'model', headers: { 'x-a': '1' } });
    expect(error.status).toBe(404);
    expect(error.body()).toEqual({ error: { message: 'no such model', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
    expect(new ProxyError('attestation_failed').message).toBe(ERRORS.attestation_failed.summary);
  });
});
