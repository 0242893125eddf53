// Starts the local control plane and keeps it running until Ctrl-C (SIGINT) or SIGTERM, then stops
// every process and removes its folder. Prints the kubeconfig path for kubectl.
//   node hack/control-plane.ts [--nodes N]
import { parseArgs } from 'node:util';
import { startControlPlane } from '../test/harness/control-plane.ts';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '1' } } });
const controlPlane = await startControlPlane({ nodes: Number(values.nodes) });
console.log(`export KUBECONFIG=${controlPlane.kubeconfigPath}`);
console.log(`work folder: ${controlPlane.workDir}`);
console.log('ready; Ctrl-C stops and removes everything');

const stop = (): void => {
  void controlPlane.stop().then(() => {
    console.log('stopped');
    process.exit(0);
  });
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
