import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatOf } from './formats.ts';
import { parseTinfoilBundle } from './tinfoil.ts';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../test/fixtures/tinfoil/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('attestation document formats', () => {
  it('sends a recorded v2 SEV-SNP bundle to the Tinfoil verifier', () => {
    expect(formatOf(fixture('tinfoil-js-attestation-bundle.json'), 'Verified')).toBe('tinfoil-sev-snp-v2');
  });

  it('names an Intel TDX enclave\'s bundle (its recorded report, no VCEK) as TDX the shipped verifier cannot check, not as a malformed bundle', () => {
    const bundle: Record<string, unknown> = { ...fixture('tinfoil-js-attestation-bundle.json'), enclaveAttestationReport: fixture('tdx-attdoc-2025-09.json') };
    delete bundle.vcek;
    const attempt = (): unknown => parseTinfoilBundle(bundle);
    expect(attempt).toThrow(expect.objectContaining({ step: 'format' }) as Error);
    expect(attempt).toThrow(/Intel TDX \(https:\/\/tinfoil\.sh\/predicate\/tdx-guest\/v2\), which @tinfoilsh\/verifier 1\.1\.0 cannot verify/);
    expect(attempt).not.toThrow(/missing or invalid/);
  });

  it('names a nonce-bound v3 document as v3', () => {
    expect(() => formatOf({ version: 3, nonce: 'ab', format: 'https://tinfoil.sh/predicate/sev-snp-guest/v3' }, 'Verified')).toThrow(/attestation v3 document/);
  });

  it('keeps development attestations for Development trust, and names them under Verified', () => {
    const development = { format: 'https://attested.dev/predicate/development/v1', payload: '', signature: '' };
    expect(formatOf(development, 'Development')).toBe('development');
    expect(() => formatOf(development, 'Verified')).toThrow(/this is a development attestation/);
    expect(() => formatOf([], 'Verified')).toThrow(/expected a JSON object/);
  });
});
