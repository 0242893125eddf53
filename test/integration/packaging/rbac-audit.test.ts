import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditEvents } from '../../harness/audit.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { freePort } from '../../harness/processes.ts';
import { startOperatorProcess } from '../../harness/operator-process.ts';
import { compareUsage, formatReport, grantsFor, usesBy, type AllowedExtra } from '../../harness/rbac-usage.ts';
import { driveEveryPath, installChartRbac, operatorKubeconfig, startAuditedCluster, tenantNamespaces, type AuditedCluster } from './rbac-scenario.ts';

/**
 * ALLOWED_EXTRAS are rights the chart grants that no request of the operator's shows in the audit
 * log, each for a reason. Anything else granted and unused fails the test.
 */
const ALLOWED_EXTRAS: readonly AllowedExtra[] = [
  { apiGroup: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'bind', why: "checked by the API server inside each write of an endpoint's TokenReview RoleBinding, not a request of its own" },
  { apiGroup: 'inference.attested.dev', resource: 'inferenceendpoints/finalizers', verb: 'update', why: 'checked by OwnerReferencesPermissionEnforcement (on in this API server, as on clusters that enable it) inside each child write that sets blockOwnerDeletion' },
  { apiGroup: 'events.k8s.io', resource: 'events', verb: 'patch', why: "an Event's series count, written only when the same Event repeats within the aggregation window" },
  { apiGroup: '', resource: 'secrets', verb: 'create', why: 'writes the webhook certificate Secret back when it was deleted under a running operator (test/integration/webhook/secret-deleted.test.ts); the chart creates it' },
  { apiGroup: '', resource: 'namespaces', verb: 'get', why: 'admission reads a namespace from its cache; a GET only for one created a moment ago, or to confirm a refusal for want of an endpoint (test/integration/webhook/cached-admission.test.ts)' },
  { apiGroup: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verb: 'get', why: 'the certificate pass reads the live configuration back every minute to repair it (test/integration/webhook/ca-bundle-repair.test.ts); a scenario shorter than a minute makes none' },
];

/** MODES are the chart's two ways of scoping the operator: every namespace, or a listed few. */
const MODES = [
  { title: 'cluster-wide (namespaces: [])', prefix: 'wide', listed: false },
  { title: 'namespaces: [opted, other]', prefix: 'listed', listed: true },
] as const;

describe("the chart's RBAC is exactly what the operator uses, by the API server's audit log", () => {
  let started: AuditedCluster | undefined;
  let enclave: EnclaveSimulator | undefined;
  let dir: string;

  beforeAll(async () => {
    started = await startAuditedCluster();
    enclave = await startEnclaveSimulator();
    dir = await mkdtemp(join(tmpdir(), 'aio-rbac-audit-'));
  });
  afterAll(async () => {
    await enclave?.close();
    await started?.stop();
    if (process.env.AIO_KEEP_LOGS !== '1') await rm(dir, { recursive: true, force: true });
  });

  for (const mode of MODES) {
    it(`grants no verb the operator does not use, and refuses none it does: ${mode.title}`, async () => {
      const [cluster, simulator] = [started!, enclave!];
      const ns = await tenantNamespaces(cluster, mode.prefix);
      const tokenReview = `attested-inference-tokenreview-${mode.prefix}`;
      const sets = ['webhook.enabled=true', 'allowDevelopmentTrust=true', `tokenReviewClusterRole=${tokenReview}`, ...(mode.listed ? [`namespaces={${ns.opted},${ns.other}}`] : [])];
      const port = await freePort();
      const rbac = await installChartRbac(cluster, { release: `aio-${mode.prefix}`, namespace: `aio-${mode.prefix}-system`, sets, webhookUrl: `https://127.0.0.1:${String(port)}` });
      const operator = await startOperatorProcess({
        kubeconfig: await operatorKubeconfig(cluster, rbac, dir),
        logDir: dir,
        leaseNamespace: rbac.namespace,
        name: `operator-${mode.prefix}`,
        extraArgs: [
          `--token-review-cluster-role=${tokenReview}`,
          `--webhook-url=https://127.0.0.1:${String(port)}`, `--webhook-port=${String(port)}`, '--webhook-host=127.0.0.1',
          ...(mode.listed ? [`--namespaces=${ns.opted},${ns.other}`] : []),
        ],
      });
      // A path that fails (often because a right is missing) still gets its requests compared, so
      // the refusals are printed before the path's own error.
      let failedPath: unknown;
      try {
        await driveEveryPath(cluster, simulator, ns);
      } catch (error) {
        failedPath = error;
      } finally {
        // Stopping ends the operator's watches, so the log holds every request it made.
        await operator.stop();
        await cluster.kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: 'attested-inference-sidecar-injector' }).catch(() => undefined);
      }
      const { uses, refusedNonResource } = usesBy(await readAuditEvents(cluster.auditLog), rbac.username);
      const report = compareUsage(grantsFor(rbac.objects, { namespace: rbac.namespace, name: rbac.serviceAccount }), uses, ALLOWED_EXTRAS);
      const printed = formatReport(`${mode.title}: ${rbac.username}`, report, refusedNonResource);
      process.stderr.write(`${printed}\n`);
      expect(uses.length, 'the audit log records the operator').toBeGreaterThan(0);
      expect({ unused: report.unused, forbidden: [...report.forbidden, ...refusedNonResource], staleAllowances: report.staleAllowances }, printed).toEqual({ unused: [], forbidden: [], staleAllowances: [] });
      if (failedPath !== undefined) throw failedPath instanceof Error ? failedPath : new Error(JSON.stringify(failedPath));
    }, 420_000);
  }
});
