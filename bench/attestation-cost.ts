import { performance } from 'node:perf_hooks';
import { createAttestationVerifier, type AttestationVerifierConfig } from '../proxy/attestation/verifier.ts';
import { serveJson, startAttestationServer } from '../test/fixtures/attestation-server.ts';
import { loadRecording } from '../test/fixtures/tinfoil-recordings.ts';
import { startEnclaveSimulator } from '../test/harness/enclave-simulator/index.ts';
import type { AttestationCost } from './results.ts';
import { median } from './stats.ts';

/**
 * Attestation cost: one full verification (fetch from a loopback server, then verify) of the
 * recorded Tinfoil v0.0.38 bundle with Verified trust, and of a simulator bundle with Development
 * trust. The first run is reported apart (cold caches), the median over the others.
 */

/** RECORDING_TIME is a moment when the recorded bundle's certificates were valid (as in the verifier's tests). */
const RECORDING_TIME = new Date('2026-02-01T00:00:00Z');
const CONFIG_REPO = 'tinfoilsh/confidential-model-router';

async function timeRuns(name: string, runs: number, config: AttestationVerifierConfig, now?: Date): Promise<AttestationCost> {
  const verifier = createAttestationVerifier(config, now === undefined ? {} : { now: () => now });
  const times: number[] = [];
  let errors = 0;
  let lastError = '';
  for (let i = 0; i < runs + 1; i++) {
    const started = performance.now();
    try {
      await verifier.verify(AbortSignal.timeout(30_000));
      times.push(performance.now() - started);
    } catch (error) {
      errors += 1;
      lastError = error instanceof Error ? error.message : String(error);
    }
  }
  if (times.length < 2) return { name, runs: 0, errors, skipped: `every verification failed: ${lastError}` };
  const [first, ...rest] = times;
  return { name, runs: rest.length, firstMs: first, medianMs: median(rest), minMs: Math.min(...rest), maxMs: Math.max(...rest), errors };
}

async function verifiedCost(runs: number): Promise<AttestationCost> {
  const name = 'Verified: recorded Tinfoil bundle v0.0.38';
  const server = await startAttestationServer(serveJson(loadRecording('v0.0.38')));
  try {
    return await timeRuns(name, runs, { trust: 'Verified', configRepo: CONFIG_REPO, bundleUrl: server.url, expectedDomain: 'inference.tinfoil.sh' }, RECORDING_TIME);
  } finally {
    await server.close();
  }
}

async function developmentCost(runs: number): Promise<AttestationCost> {
  const simulator = await startEnclaveSimulator();
  try {
    return await timeRuns('Development: simulator bundle', runs, {
      trust: 'Development', configRepo: CONFIG_REPO, bundleUrl: simulator.url, developmentPublicKey: simulator.developmentPublicKeyPem,
    });
  } finally {
    await simulator.close();
  }
}

/** measureAttestation times both trust levels, `runs` times each after one cold run. */
export async function measureAttestation(runs: number): Promise<AttestationCost[]> {
  return [await verifiedCost(runs), await developmentCost(runs)];
}
