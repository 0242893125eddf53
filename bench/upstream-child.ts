// The benchmark's upstream, in a process of its own so that it never shares an event loop with the
// proxy or the load generator: the enclave simulator (EHBP and plaintext), reporting its address
// over the IPC channel and exiting when the parent goes away.
import { startEnclaveSimulator } from '../test/harness/enclave-simulator/index.ts';

/** UpstreamHello is the first IPC message of the upstream child. */
export interface UpstreamHello {
  readonly url: string;
  readonly publicKeyPem: string;
  readonly hpkePublicKey: string;
}

const simulator = await startEnclaveSimulator();
// The simulator logs every request with its body; a benchmark would grow it without bound.
const sweep = setInterval(() => {
  simulator.clearRequests();
}, 500);
const hello: UpstreamHello = { url: simulator.url, publicKeyPem: simulator.developmentPublicKeyPem, hpkePublicKey: simulator.hpkePublicKey };
process.send?.(hello);
process.once('disconnect', () => {
  clearInterval(sweep);
  void simulator.close().finally(() => process.exit(0));
});
