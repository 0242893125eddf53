import type { V1Container, V1EphemeralContainer, V1Pod } from '@kubernetes/client-node';
import type { ReasonCode } from './reasons.ts';
import { SIDECAR_CONTAINER_NAME, SIDECAR_UID } from './sidecar.ts';

/**
 * SIDECAR_VOLUME_PREFIX starts the name of every volume the sidecar brings (operator/resources/container.ts
 * VOLUMES): the prefix is reserved, so no app container mounts one and no app volume takes one's name.
 */
export const SIDECAR_VOLUME_PREFIX = 'attested-inference-';

/** IsolationProblem is why a pod cannot carry the sidecar safely, and the field of the pod that says so. */
export interface IsolationProblem {
  readonly reason: ReasonCode;
  readonly field: string;
}

/** Placed is a container with the path of its field in the pod, for messages that name it. */
interface Placed {
  readonly container: V1Container | V1EphemeralContainer;
  readonly path: string;
}

function placed(list: readonly (V1Container | V1EphemeralContainer)[] | undefined, key: string): Placed[] {
  return (list ?? []).map((container, i) => ({ container, path: `spec.${key}[${String(i)}]` }));
}

/**
 * appContainers are every container of the pod but the sidecar: init, regular and ephemeral ones
 * (ephemeral containers arrive through the `pods/ephemeralcontainers` subresource, after admission
 * of the pod, and are checked whenever the webhook sees them).
 */
function appContainers(pod: V1Pod): Placed[] {
  const spec = pod.spec;
  const init = placed(spec?.initContainers, 'initContainers').filter((p) => p.container.name !== SIDECAR_CONTAINER_NAME);
  return [...init, ...placed(spec?.containers, 'containers'), ...placed(spec?.ephemeralContainers, 'ephemeralContainers')];
}

type Check = (pod: V1Pod) => IsolationProblem | undefined;

/**
 * sharedProcesses: with one process namespace for the pod (or the node's), an app process sees the
 * sidecar's and, at its UID or with CAP_SETUID (root's default), reads its memory, environment and
 * files through /proc/<pid>/mem, /proc/<pid>/environ and /proc/<pid>/root (proc(5), ptrace(2)
 * "Ptrace access mode checking"): the provider key included.
 */
const sharedProcesses: Check = (pod) => {
  if (pod.spec?.shareProcessNamespace === true) return { reason: 'shared-process-namespace', field: 'spec.shareProcessNamespace' };
  return pod.spec?.hostPID === true ? { reason: 'shared-process-namespace', field: 'spec.hostPID' } : undefined;
};

/**
 * sharedUid: an app container that runs as the sidecar's UID, its own or the pod's, passes the
 * kernel's ptrace access check against the sidecar wherever their processes meet. A container that
 * names no UID runs as its image's, unknown here; the sidecar's UID is one of its own (not the
 * 65532 of distroless "nonroot" images) and the other checks keep their processes apart.
 */
const sharedUid: Check = (pod) => {
  const podUid = pod.spec?.securityContext?.runAsUser;
  for (const { container, path } of appContainers(pod)) {
    const own = container.securityContext?.runAsUser;
    if ((own ?? podUid) !== SIDECAR_UID) continue;
    return { reason: 'shared-uid', field: own === undefined ? 'spec.securityContext.runAsUser' : `${path}.securityContext.runAsUser` };
  }
  return undefined;
};

/** mountsSidecarVolume: an app container that mounts (or maps as a device) a sidecar volume reads the key directly. */
const mountsSidecarVolume: Check = (pod) => {
  for (const { container, path } of appContainers(pod)) {
    const mount = (container.volumeMounts ?? []).findIndex((m) => m.name.startsWith(SIDECAR_VOLUME_PREFIX));
    if (mount >= 0) return { reason: 'app-mounts-sidecar-volume', field: `${path}.volumeMounts[${String(mount)}].name` };
    const device = (container.volumeDevices ?? []).findIndex((d) => d.name.startsWith(SIDECAR_VOLUME_PREFIX));
    if (device >= 0) return { reason: 'app-mounts-sidecar-volume', field: `${path}.volumeDevices[${String(device)}].name` };
  }
  return undefined;
};

/** targetsSidecar: an ephemeral container with `targetContainerName` joins that container's process namespace. */
const targetsSidecar: Check = (pod) => {
  const index = (pod.spec?.ephemeralContainers ?? []).findIndex((c) => c.targetContainerName === SIDECAR_CONTAINER_NAME);
  return index >= 0 ? { reason: 'targets-sidecar', field: `spec.ephemeralContainers[${String(index)}].targetContainerName` } : undefined;
};

/** volumeNameTaken: an app volume with a sidecar volume's name would clash with it, or stand in for it. */
const volumeNameTaken: Check = (pod) => {
  const index = (pod.spec?.volumes ?? []).findIndex((v) => v.name.startsWith(SIDECAR_VOLUME_PREFIX));
  return index >= 0 ? { reason: 'sidecar-volume-name-taken', field: `spec.volumes[${String(index)}].name` } : undefined;
};

/** ISOLATION_CHECKS keep the sidecar's key from the app containers of a pod that carries it, in order. */
const ISOLATION_CHECKS: readonly Check[] = [sharedProcesses, sharedUid, mountsSidecarVolume, targetsSidecar];

/**
 * isolationProblem says why the pod cannot carry the sidecar without handing its provider key to
 * the app, if it cannot. `sidecarPresent` is for a pod that already carries it (re-invocation after
 * another webhook changed the pod), whose `attested-inference-*` volumes are the sidecar's own.
 */
export function isolationProblem(pod: V1Pod, sidecarPresent: boolean): IsolationProblem | undefined {
  for (const check of sidecarPresent ? ISOLATION_CHECKS : [...ISOLATION_CHECKS, volumeNameTaken]) {
    const problem = check(pod);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** hasSidecar says whether the pod holds a container of the sidecar's name (and so, likely, its volumes). */
export function hasSidecar(pod: V1Pod): boolean {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some((c) => c.name === SIDECAR_CONTAINER_NAME);
}
