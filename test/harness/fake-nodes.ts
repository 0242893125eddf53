import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { waitFor } from './processes.ts';

/** KWOK_ANNOTATION marks the nodes kwok manages (see the kwok flags in control-plane.ts). */
export const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

function fakeNode(name: string): V1Node {
  const resources = { cpu: '32', memory: '256Gi', pods: '250' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': name,
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    status: {
      allocatable: resources,
      capacity: resources,
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: 'fake',
        kubeProxyVersion: 'fake',
        bootID: '',
        containerRuntimeVersion: '',
        kernelVersion: '',
        machineID: '',
        osImage: '',
        systemUUID: '',
      },
    },
  };
}

/** createFakeNodes registers `count` simulated nodes and waits until kwok reports them Ready. */
export async function createFakeNodes(kc: KubeConfig, count: number): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const names = Array.from({ length: count }, (_, i) => `kwok-node-${String(i)}`);
  for (const name of names) await core.createNode({ body: fakeNode(name) });
  await waitFor(`${String(count)} simulated node(s) Ready`, async () => {
    const nodes = await Promise.all(names.map((name) => core.readNode({ name })));
    return nodes.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
  }, { timeoutMs: 60_000, intervalMs: 200 });
  return names;
}
