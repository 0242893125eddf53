import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node';
import { contentHash } from './hash.ts';
import { ANNOTATION_RELEASE_DIGEST } from './names.ts';

/** ANNOTATION_CHANGE_CAUSE is what `kubectl rollout history` shows for a revision (the Deployment controller copies it to the ReplicaSet). */
export const ANNOTATION_CHANGE_CAUSE = 'kubernetes.io/change-cause';
/** ANNOTATION_TEMPLATE_HASH is the hash of the pod template the operator last rendered, on the Deployment itself (not the template). */
export const ANNOTATION_TEMPLATE_HASH = 'inference.attested.dev/template-hash';

/** CauseInputs are what a new revision's cause is said from. */
export interface CauseInputs {
  /** template is the pod template the operator renders now. */
  readonly template: V1PodTemplateSpec;
  /** generation is the endpoint's .metadata.generation the template was rendered from. */
  readonly generation: number;
  /** previous is the Deployment as found before this write, if there is one. */
  readonly previous?: V1Deployment;
}

const short = (digest: string | undefined): string => (digest === undefined ? 'none' : digest.slice(0, 12));
const imageOf = (template: V1PodTemplateSpec | undefined): string | undefined => template?.spec?.containers[0]?.image;

/**
 * changeCause is the Deployment's `kubernetes.io/change-cause` and template hash. The cause is
 * kept while the rendered template is the one last written (the Deployment controller copies the
 * Deployment's annotations onto its current ReplicaSet, so a new cause without a new template would
 * relabel the running revision); a new template gets a cause that says why: the attested release
 * changed (policy Follow), the proxy image changed (an operator upgrade), or the endpoint's spec.
 */
export function changeCause(i: CauseInputs): { readonly cause: string; readonly templateHash: string } {
  const templateHash = contentHash(i.template);
  const annotations = i.previous?.metadata?.annotations ?? {};
  const kept = annotations[ANNOTATION_CHANGE_CAUSE];
  if (annotations[ANNOTATION_TEMPLATE_HASH] === templateHash && kept !== undefined) return { cause: kept, templateHash };
  return { cause: newCause(i), templateHash };
}

const releaseOf = (template: V1PodTemplateSpec | undefined): string | undefined => template?.metadata?.annotations?.[ANNOTATION_RELEASE_DIGEST];

/** newCause says why a new template is rendered, checked in order: a first Deployment, a new release, a new proxy image, else the spec. */
function newCause(i: CauseInputs): string {
  const generation = `InferenceEndpoint generation ${String(i.generation)}`;
  const release = releaseOf(i.template);
  if (i.previous === undefined) return `attested-inference-operator: created for ${generation} (release ${short(release)})`;
  const before = releaseOf(i.previous.spec?.template);
  if (before !== undefined && release !== undefined && before !== release) {
    return `attested-inference-operator: upstream release changed from ${short(before)} to ${short(release)} (attestation policy Follow), ${generation}`;
  }
  const image = imageOf(i.template) ?? '';
  if (imageOf(i.previous.spec?.template) !== image) return `attested-inference-operator: proxy image ${image}, ${generation}`;
  return `attested-inference-operator: spec changed, ${generation} (release ${short(release)})`;
}
