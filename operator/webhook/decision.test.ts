import type { V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { endpoint } from '../../test/fixtures/endpoints.ts';
import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { decide, endpointNameFor } from './decision.ts';
import { REASONS } from './reasons.ts';
import { injectSidecar, SIDECAR_CONTAINER_NAME, SIDECAR_UID } from './sidecar.ts';

const ready = (name: string): InferenceEndpoint => ({ ...endpoint(name, { provider: 'tinfoil', apiKeySecretRef: { name: 'k' } }), status: { observedGeneration: 1 } });
const pod = (annotations: Record<string, string> = {}, spec: Partial<V1Pod['spec']> = {}): V1Pod => ({ metadata: { generateName: 'app-', annotations }, spec: { containers: [{ name: 'app' }], ...spec } });
const namespace = (annotations: Record<string, string> = {}): V1ObjectMeta => ({ name: 'team-a', labels: { 'inference.attested.dev/injection': 'enabled' }, annotations });
const enabled = namespace();
/** injected is a pod as the webhook left it (sidecar, its volumes, the status annotation), with `spec` merged over it. */
const injected = (spec: Partial<V1Pod['spec']> = {}): V1Pod => {
  const done = injectSidecar(pod(), ready('chat'), { image: { image: 'registry.local/attested-inference-proxy:test', pullPolicy: 'IfNotPresent' } });
  Object.assign(done.spec!, spec);
  return done;
};
const plain: V1ObjectMeta = { name: 'team-a' };

describe('the injection decision', () => {
  const cases: { name: string; input: Parameters<typeof decide>[0]; reason: keyof typeof REASONS; endpoint?: string; field?: string; sidecarPresent?: true }[] = [
    { name: 'pod annotation names an endpoint, namespace not labelled', input: { pod: pod({ 'inference.attested.dev/inject': 'chat' }), namespace: plain, endpoints: [ready('chat')] }, reason: 'injected', endpoint: 'chat' },
    { name: 'namespace label and the only endpoint', input: { pod: pod(), namespace: enabled, endpoints: [ready('chat')] }, reason: 'injected', endpoint: 'chat' },
    { name: 'namespace label and its default-endpoint annotation', input: { pod: pod(), namespace: namespace({ 'inference.attested.dev/default-endpoint': 'b' }), endpoints: [ready('a'), ready('b')] }, reason: 'injected', endpoint: 'b' },
    { name: '"true" asks for the namespace default', input: { pod: pod({ 'inference.attested.dev/inject': 'true' }), namespace: plain, endpoints: [ready('chat')] }, reason: 'injected', endpoint: 'chat' },
    { name: 'the pod annotation wins over the namespace default', input: { pod: pod({ 'inference.attested.dev/inject': 'a' }), namespace: namespace({ 'inference.attested.dev/default-endpoint': 'b' }), endpoints: [ready('a'), ready('b')] }, reason: 'injected', endpoint: 'a' },
    { name: 'opt-out in an opted-in namespace', input: { pod: pod({ 'inference.attested.dev/inject': 'false' }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'opted-out' },
    {
      name: "an endpoint's own proxy pod in an opted-in namespace",
      input: { pod: { metadata: { generateName: 'chat-proxy-', labels: { 'app.kubernetes.io/name': 'attested-inference-proxy', 'app.kubernetes.io/instance': 'chat' } }, spec: { containers: [{ name: 'proxy' }] } }, namespace: enabled, endpoints: [ready('chat')] },
      reason: 'proxy-pod',
    },
    { name: 'nobody asked', input: { pod: pod(), namespace: plain, endpoints: [ready('chat')] }, reason: 'not-opted-in' },
    { name: 'host network', input: { pod: pod({}, { hostNetwork: true }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'host-network' },
    { name: 'already injected, by container', input: { pod: pod({}, { initContainers: [{ name: 'attested-inference-proxy' }] }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'already-injected' },
    { name: 'already injected, by annotation, even if it now says false', input: { pod: pod({ 'inference.attested.dev/status': 'injected', 'inference.attested.dev/inject': 'false' }), namespace: enabled, endpoints: [] }, reason: 'already-injected' },
    { name: 'namespace opted in with two endpoints and no default', input: { pod: pod(), namespace: enabled, endpoints: [ready('a'), ready('b')] }, reason: 'no-default-endpoint' },
    { name: 'namespace opted in with no endpoint at all', input: { pod: pod(), namespace: enabled, endpoints: [] }, reason: 'no-default-endpoint' },
    { name: 'named endpoint missing', input: { pod: pod({ 'inference.attested.dev/inject': 'nope' }), namespace: plain, endpoints: [ready('chat')] }, reason: 'endpoint-not-found', endpoint: 'nope' },
    { name: 'default endpoint annotation names a missing endpoint', input: { pod: pod(), namespace: namespace({ 'inference.attested.dev/default-endpoint': 'gone' }), endpoints: [ready('chat')] }, reason: 'endpoint-not-found', endpoint: 'gone' },
    {
      name: 'the endpoint runs a proxy image the admin policy does not list',
      input: { pod: pod({ 'inference.attested.dev/inject': 'chat' }), namespace: plain, endpoints: [{ ...endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' }, proxy: { image: 'evil.example/proxy:1' } }), status: { observedGeneration: 1 } }] },
      reason: 'endpoint-refused-by-policy',
      endpoint: 'chat',
      field: 'spec.proxy.image',
    },
    { name: 'a privatemode endpoint, whose privatemode-proxy never runs beside an app', input: { pod: pod({ 'inference.attested.dev/inject': 'pm' }), namespace: plain, endpoints: [{ ...endpoint('pm', { provider: 'privatemode', apiKeySecretRef: { name: 'k' } }), status: { observedGeneration: 1 } }] }, reason: 'endpoint-not-injectable', endpoint: 'pm' },
    { name: 'endpoint not reconciled yet', input: { pod: pod({ 'inference.attested.dev/inject': 'chat' }), namespace: plain, endpoints: [endpoint('chat', { provider: 'tinfoil', apiKeySecretRef: { name: 'k' } })] }, reason: 'endpoint-not-ready', endpoint: 'chat' },
    { name: 'the pod shares its process namespace', input: { pod: pod({}, { shareProcessNamespace: true }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'shared-process-namespace', field: 'spec.shareProcessNamespace' },
    { name: "the pod uses the node's process namespace", input: { pod: pod({}, { hostPID: true }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'shared-process-namespace', field: 'spec.hostPID' },
    { name: "the app inherits the sidecar's UID from the pod", input: { pod: pod({}, { securityContext: { runAsUser: SIDECAR_UID } }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'shared-uid', field: 'spec.securityContext.runAsUser' },
    { name: "an init container runs as the sidecar's UID", input: { pod: pod({}, { initContainers: [{ name: 'migrate', securityContext: { runAsUser: SIDECAR_UID } }] }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'shared-uid', field: 'spec.initContainers[0].securityContext.runAsUser' },
    {
      name: "every container overrides the pod's UID with another",
      input: { pod: pod({}, { securityContext: { runAsUser: SIDECAR_UID }, containers: [{ name: 'app', securityContext: { runAsUser: 1000 } }] }), namespace: enabled, endpoints: [ready('chat')] },
      reason: 'injected',
      endpoint: 'chat',
    },
    { name: "the app mounts the sidecar's key volume", input: { pod: pod({}, { containers: [{ name: 'app', volumeMounts: [{ name: 'attested-inference-provider-key', mountPath: '/key' }] }] }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'app-mounts-sidecar-volume', field: 'spec.containers[0].volumeMounts[0].name' },
    { name: "an init container mounts the sidecar's configuration", input: { pod: pod({}, { initContainers: [{ name: 'peek', volumeMounts: [{ name: 'data', mountPath: '/d' }, { name: 'attested-inference-config', mountPath: '/c' }] }] }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'app-mounts-sidecar-volume', field: 'spec.initContainers[0].volumeMounts[1].name' },
    { name: 'the app names a sidecar volume as a device', input: { pod: pod({}, { containers: [{ name: 'app', volumeDevices: [{ name: 'attested-inference-caller-keys', devicePath: '/dev/k' }] }] }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'app-mounts-sidecar-volume', field: 'spec.containers[0].volumeDevices[0].name' },
    { name: "the pod has a volume of the sidecar's name", input: { pod: pod({}, { volumes: [{ name: 'attested-inference-provider-key', secret: { secretName: 'other' } }] }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'sidecar-volume-name-taken', field: 'spec.volumes[0].name' },
    { name: 'an injected pod later made to share its process namespace', input: { pod: injected({ shareProcessNamespace: true }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'shared-process-namespace', field: 'spec.shareProcessNamespace', sidecarPresent: true },
    {
      name: "an injected pod whose app later mounts the key volume",
      input: { pod: injected({ containers: [{ name: 'app', volumeMounts: [{ name: 'attested-inference-provider-key', mountPath: '/key' }] }] }), namespace: enabled, endpoints: [ready('chat')] },
      reason: 'app-mounts-sidecar-volume',
      field: 'spec.containers[0].volumeMounts[0].name',
      sidecarPresent: true,
    },
    { name: "an injected pod whose app later runs as the sidecar's UID", input: { pod: injected({ securityContext: { runAsUser: SIDECAR_UID } }), namespace: enabled, endpoints: [ready('chat')] }, reason: 'shared-uid', field: 'spec.securityContext.runAsUser', sidecarPresent: true },
    {
      name: 'an injected pod with an ephemeral container targeting the sidecar',
      input: { pod: injected({ ephemeralContainers: [{ name: 'debug', targetContainerName: SIDECAR_CONTAINER_NAME }] }), namespace: enabled, endpoints: [ready('chat')] },
      reason: 'targets-sidecar',
      field: 'spec.ephemeralContainers[0].targetContainerName',
      sidecarPresent: true,
    },
    {
      name: "an injected pod with an ephemeral container mounting the sidecar's key",
      input: { pod: injected({ ephemeralContainers: [{ name: 'debug', volumeMounts: [{ name: 'attested-inference-provider-key', mountPath: '/k' }] }] }), namespace: enabled, endpoints: [ready('chat')] },
      reason: 'app-mounts-sidecar-volume',
      field: 'spec.ephemeralContainers[0].volumeMounts[0].name',
      sidecarPresent: true,
    },
    { name: 'an injected pod, unchanged', input: { pod: injected(), namespace: enabled, endpoints: [ready('chat')] }, reason: 'already-injected' },
    { name: 'endpoint changed since the operator last reconciled it', input: { pod: pod({ 'inference.attested.dev/inject': 'chat' }), namespace: plain, endpoints: [{ ...ready('chat'), metadata: { name: 'chat', generation: 2 } }] }, reason: 'endpoint-not-ready', endpoint: 'chat' },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.reason}`, () => {
      const decision = decide(c.input);
      expect(decision.reason).toBe(c.reason);
      expect(decision.endpointName).toBe(c.endpoint);
      expect(decision.field).toBe(c.field);
      expect(decision.sidecarPresent).toBe(c.sidecarPresent);
    });
  }

  it('covers every reason code', () => {
    const covered = new Set(cases.map((c) => c.reason));
    expect([...covered].sort()).toEqual(Object.keys(REASONS).sort());
  });

  it('resolves a workload template the same way, so rollouts find the pods a webhook would inject', () => {
    expect(endpointNameFor({ annotations: { 'inference.attested.dev/inject': 'chat' } }, plain, [])).toBe('chat');
    expect(endpointNameFor({}, enabled, [ready('only')])).toBe('only');
    expect(endpointNameFor({ annotations: { 'inference.attested.dev/inject': 'false' } }, enabled, [ready('only')])).toBeUndefined();
    expect(endpointNameFor(undefined, plain, [ready('only')])).toBeUndefined();
  });
});
