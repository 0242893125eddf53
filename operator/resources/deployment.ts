import type { V1Deployment, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { ANNOTATION_CHANGE_CAUSE, ANNOTATION_TEMPLATE_HASH, changeCause } from './change-cause.ts';
import { privatemodeContainer, privatemodeVolumes, proxyContainer, proxyVolumes, type ProxyImage } from './container.ts';
import { ANNOTATION_CONFIG_HASH, ANNOTATION_RELEASE_DIGEST, childMeta, childNames, commonLabels, endpointName, selectorLabels } from './names.ts';
import { PROXY_PORTS } from './proxy-config.ts';

/** DeploymentInputs are what the Deployment depends on besides the spec. */
export interface DeploymentInputs {
  readonly image: ProxyImage;
  /** configHash is the hash of the rendered proxy configuration: a change rolls the pods. */
  readonly configHash: string;
  /** releaseDigest is the attested release the pods were started for (Follow policy): a change rolls them. */
  readonly releaseDigest?: string;
  /** allowDevelopmentTrust must be set for a Development-trust endpoint (operator/resources/proxy-config.ts requireTrustAllowed). */
  readonly allowDevelopmentTrust?: boolean;
  /** previousDeployment is the Deployment as found before this write: its change-cause is kept while the template is unchanged. */
  readonly previousDeployment?: V1Deployment;
}

/** TERMINATION_GRACE_SECONDS covers the preStop sleep plus the proxy's own drain (25 s). */
const TERMINATION_GRACE_SECONDS = 40;

function podSpec(endpoint: InferenceEndpoint, image: ProxyImage, allowDevelopmentTrust: boolean | undefined): V1PodSpec {
  const overrides = endpoint.spec.proxy.podTemplate ?? {};
  const volumes = proxyVolumes(endpoint);
  const privatemode = endpoint.spec.provider === 'privatemode';
  return {
    serviceAccountName: childNames(endpointName(endpoint)).serviceAccount,
    // Only ServiceAccount caller auth needs the API server (TokenReview).
    automountServiceAccountToken: endpoint.spec.callers.auth === 'serviceaccount',
    enableServiceLinks: false,
    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
    securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    ...(privatemode ? { initContainers: [privatemodeContainer(image)] } : {}),
    containers: [proxyContainer(endpoint, image, volumes, { ...(allowDevelopmentTrust === undefined ? {} : { allowDevelopmentTrust }) })],
    volumes: privatemode ? [...volumes, ...privatemodeVolumes(endpoint)] : volumes,
    ...(image.pullSecrets !== undefined && image.pullSecrets.length > 0 ? { imagePullSecrets: image.pullSecrets.map((name) => ({ name })) } : {}),
    ...(overrides.nodeSelector ? { nodeSelector: { ...overrides.nodeSelector } } : {}),
    ...(overrides.tolerations ? { tolerations: overrides.tolerations.map((t) => ({ ...t })) } : {}),
    ...(overrides.affinity ? { affinity: overrides.affinity } : {}),
    ...(overrides.priorityClassName ? { priorityClassName: overrides.priorityClassName } : {}),
    ...(overrides.topologySpreadConstraints ? { topologySpreadConstraints: [...overrides.topologySpreadConstraints] } : {}),
  };
}

function podTemplate(endpoint: InferenceEndpoint, inputs: DeploymentInputs): V1PodTemplateSpec {
  const overrides = endpoint.spec.proxy.podTemplate ?? {};
  return {
    metadata: {
      labels: { ...overrides.labels, ...commonLabels(endpoint) },
      annotations: {
        ...overrides.annotations,
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(PROXY_PORTS.admin),
        'prometheus.io/path': '/metrics',
        [ANNOTATION_CONFIG_HASH]: inputs.configHash,
        ...(inputs.releaseDigest ? { [ANNOTATION_RELEASE_DIGEST]: inputs.releaseDigest } : {}),
      },
    },
    spec: podSpec(endpoint, inputs.image, inputs.allowDevelopmentTrust),
  };
}

/**
 * deploymentFor builds the proxy Deployment. Rolling updates never take a pod away before its
 * replacement is ready (maxUnavailable 0, one surge pod), so a release change rolls the pods
 * without failing a request; the PodDisruptionBudget only guards against evictions. Its
 * `kubernetes.io/change-cause` says why the template last changed, for `kubectl rollout history`
 * (change-cause.ts).
 */
export function deploymentFor(endpoint: InferenceEndpoint, inputs: DeploymentInputs): V1Deployment {
  const names = childNames(endpointName(endpoint));
  const template = podTemplate(endpoint, inputs);
  const { cause, templateHash } = changeCause({ template, generation: endpoint.metadata.generation ?? 0, ...(inputs.previousDeployment ? { previous: inputs.previousDeployment } : {}) });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(endpoint, names.deployment, { annotations: { [ANNOTATION_CHANGE_CAUSE]: cause, [ANNOTATION_TEMPLATE_HASH]: templateHash } }),
    spec: {
      replicas: endpoint.spec.replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: selectorLabels(endpoint) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template,
    },
  };
}
