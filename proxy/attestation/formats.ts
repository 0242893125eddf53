import { DEVELOPMENT_FORMAT } from './development.ts';
import { stepMessage } from './steps.ts';
import { AttestationFailure } from './types.ts';

/**
 * Attestation document formats, each verified by its own verifier. The verifier a document goes to
 * is chosen from the document itself, so a new format (Tinfoil's nonce-bound v3 documents, Intel
 * TDX reports) is one more entry here and one more verifier, adopted when `@tinfoilsh/verifier`
 * supports it; until then such a document fails at `format` with a message that says so, not as
 * a malformed SEV-SNP bundle. No hardware report is ever checked by hand-written code.
 */

/** DocumentFormat names a format the proxy can verify. */
export type DocumentFormat = 'tinfoil-sev-snp-v2' | 'development';

/** SEV_SNP_V2_PREDICATE is the report predicate of Tinfoil's v2 bundles for AMD SEV-SNP enclaves. */
export const SEV_SNP_V2_PREDICATE = 'https://tinfoil.sh/predicate/sev-snp-guest/v2';

/** VERIFIER_LIBRARY is the verifier the proxy ships, named in messages about formats it cannot verify yet. */
const VERIFIER_LIBRARY = '@tinfoilsh/verifier 1.1.0';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** reportPredicate is the predicate of a v2 bundle's enclave report, if it has one. */
function reportPredicate(document: Record<string, unknown>): string | undefined {
  const report = document.enclaveAttestationReport;
  return isRecord(report) && typeof report.format === 'string' ? report.format : undefined;
}

/**
 * unsupported explains a document of a format the shipped verifier does not know: Intel TDX
 * reports and attestation v3 documents (nonce-bound, with collateral that expires) arrive with
 * `@tinfoilsh/verifier` 1.2.
 */
function unsupported(document: Record<string, unknown>): string | undefined {
  const predicate = reportPredicate(document) ?? (typeof document.format === 'string' ? document.format : undefined);
  if (predicate !== undefined && /tdx/i.test(predicate)) {
    return `the upstream attests with Intel TDX (${predicate}), which ${VERIFIER_LIBRARY} cannot verify; TDX enclaves need a proxy built with @tinfoilsh/verifier 1.2 or later`;
  }
  const v3 = document.version === 3 || document.version === '3' || 'nonce' in document || (predicate !== undefined && /\/v3$/.test(predicate));
  if (v3) return `the upstream serves an attestation v3 document, which ${VERIFIER_LIBRARY} cannot verify; v3 needs a proxy built with @tinfoilsh/verifier 1.2 or later`;
  return undefined;
}

/**
 * formatOf says which verifier a fetched document goes to under `trust`: Verified accepts Tinfoil's
 * v2 SEV-SNP bundles (their shape is checked by that verifier, which names missing fields),
 * Development only development attestations. Anything else fails at `format`, naming what it is.
 */
export function formatOf(document: unknown, trust: 'Verified' | 'Development'): DocumentFormat {
  const fail = (detail: string): AttestationFailure => new AttestationFailure('format', stepMessage('format', detail));
  if (!isRecord(document)) throw fail('expected a JSON object (an attestation document)');
  if (trust === 'Development') return 'development';
  if (document.format === DEVELOPMENT_FORMAT) {
    throw fail('this is a development attestation; trust Verified accepts only Tinfoil bundles (AMD SEV-SNP + Sigstore)');
  }
  const reason = unsupported(document);
  if (reason !== undefined) throw fail(reason);
  return 'tinfoil-sev-snp-v2';
}
