import type { CoreV1Event } from '@kubernetes/client-node';
import { providerKeyRefs, type InferenceEndpoint } from '../api/v1alpha1/types.ts';
import type { Problem } from './status.ts';

// kubelet's messages (pkg/volume/secret): `secret "NAME" not found` and
// `configmap references non-existent config key` / `couldn't find key KEY in Secret NS/NAME`.
const NOT_FOUND = /secret "([^"]+)" not found/;
const KEY_MISSING = /couldn't find key (\S+) in Secret [^/\s]+\/(\S+)/;

/**
 * secretProblems reads what kubelet reported about the proxy pods' Secret volumes. The operator has
 * no right to read Secrets (docs/architecture.md §5), so a missing Secret or key is learned the way a
 * person would learn it: from the pods' FailedMount Events.
 */
export function secretProblems(endpoint: InferenceEndpoint, events: readonly CoreV1Event[]): Problem[] {
  const problems = new Map<string, Problem>();
  for (const e of events) {
    const message = e.message ?? '';
    const notFound = NOT_FOUND.exec(message);
    const missing = KEY_MISSING.exec(message);
    if (notFound?.[1] !== undefined) {
      const name = notFound[1];
      problems.set(`nf:${name}`, { reason: 'SecretNotFound', message: `Secret "${name}" does not exist in namespace ${endpoint.metadata.namespace ?? ''}; ${describe(endpoint, name)} Create it; the proxy pods start once it exists.` });
    } else if (missing?.[1] !== undefined && missing[2] !== undefined) {
      problems.set(`km:${missing[2]}:${missing[1]}`, { reason: 'SecretKeyMissing', message: `Secret "${missing[2]}" has no key "${missing[1]}"; ${describe(endpoint, missing[2])}` });
    }
  }
  return [...problems.values()];
}

function describe(endpoint: InferenceEndpoint, secret: string): string {
  const s = endpoint.spec;
  const keys = providerKeyRefs(s).filter((ref) => ref.name === secret).map((ref) => `"${ref.key}"`);
  if (keys.length > 0) return `spec.${s.apiKeySecretRefs ? 'apiKeySecretRefs' : 'apiKeySecretRef'} names it (key ${keys.join(', ')}).`;
  if (s.callers.staticKeysSecretRef?.name === secret) return 'spec.callers.staticKeysSecretRef names it.';
  if (s.promptCache?.secretRef?.name === secret) return 'spec.promptCache.secretRef names it.';
  return 'the proxy pods mount it.';
}
