// The end-to-end suite on a real cluster (kind built offline by default; see README.md here).
// Scenarios run in order and build on each other: install, an endpoint, sidecars, an operator
// rollout under pod creation, a release change, key rotation, fail closed, failover, budgets, the
// admin policy, uninstall. A failed scenario keeps its logs in a folder its failure message names.
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectLogs } from './harness/failure-logs.ts';
import { imagePullEvents } from './harness/endpoints.ts';
import { e2e } from './harness/kube.ts';
import { deploySimulator, stopOpenLoops } from './harness/world.ts';
import type { World } from './harness/world-state.ts';
import { adminPolicyScenario } from './scenarios/admin-policy.ts';
import { attestationScenario } from './scenarios/attestation.ts';
import { availableScenario } from './scenarios/available.ts';
import { budgetsScenario } from './scenarios/budgets.ts';
import { endpointScenario } from './scenarios/endpoint.ts';
import { failClosedScenario } from './scenarios/fail-closed.ts';
import { failoverScenario } from './scenarios/failover.ts';
import { installScenario } from './scenarios/install.ts';
import { keyRotationScenario } from './scenarios/key-rotation.ts';
import { operatorRolloutScenario } from './scenarios/operator-rollout.ts';
import { rolloutBlipScenario } from './scenarios/rollout-blip.ts';
import { sidecarScenario } from './scenarios/sidecar.ts';
import { uninstallScenario } from './scenarios/uninstall.ts';

const world: World = { k: e2e(), publicKeyPem: '' };
const logsRoot = join(process.env.E2E_LOGS_DIR ?? tmpdir(), `aio-e2e-logs-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  world.publicKeyPem = await deploySimulator(world.k);
});

afterEach(async (context) => {
  const result = context.task.result;
  if (result?.state !== 'fail') return;
  await stopOpenLoops();
  const dir = join(logsRoot, context.task.name.replace(/[^a-zA-Z0-9]+/g, '-').slice(0, 60));
  await collectLogs(world.k, dir, inject('e2eCluster') === 'kind').catch((error: unknown) => console.error(`collecting logs failed: ${String(error)}`));
  for (const error of result.errors ?? []) error.message = `${error.message}\n(logs of this failure: ${dir})`;
  console.error(`[e2e] logs of the failed test "${context.task.name}": ${dir}`);
});

describe('attested-inference-operator end to end', () => {
  installScenario(world);
  endpointScenario(world);
  availableScenario(world);
  sidecarScenario(world);
  operatorRolloutScenario(world);
  attestationScenario(world);
  keyRotationScenario(world);
  failClosedScenario(world);
  rolloutBlipScenario(world);
  failoverScenario(world);
  budgetsScenario(world);
  adminPolicyScenario(world);

  describe('no image is ever pulled', () => {
    it('has no Pod event about pulling an image', async () => {
      expect(await imagePullEvents(world.k)).toEqual([]);
    });
  });

  uninstallScenario(world);
});
