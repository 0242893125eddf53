// The enclave simulator as an in-cluster workload for the e2e suite: the proxy reaches it over the
// pod network through its Service, and tests steer it through its control API (/control/, see
// test/harness/enclave-simulator/control.ts) by way of the API server's service proxy.
//
// Environment:
//   SIM_DOMAIN            the host the attestation binds (the Service's DNS name and port)
//   SIM_SIGNING_KEY_FILE  PKCS#8 PEM of the Ed25519 key that signs the development attestation;
//                         the test holds the public half and puts it into the InferenceEndpoint
//   SIM_PORT              port to listen on (default 8080)
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startEnclaveSimulator } from '../../harness/enclave-simulator/index.ts';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

const simulator = await startEnclaveSimulator({
  host: '0.0.0.0',
  port: Number(process.env.SIM_PORT ?? '8080'),
  domain: required('SIM_DOMAIN'),
  signingKey: createPrivateKey(readFileSync(required('SIM_SIGNING_KEY_FILE'))),
});
process.stdout.write(`${JSON.stringify({ msg: 'enclave simulator listening', url: simulator.url, release: simulator.release.releaseDigest })}\n`);
const stop = (): void => {
  void simulator.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
