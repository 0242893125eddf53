import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * AUDIT_POLICY records every request at the Metadata level (who, what, which object, the
 * answer; no bodies), once it completes, and a watch also when it starts (a watch that outlives
 * the scenario is then recorded without waiting for its close): enough to learn which rights a client uses
 * (kubernetes.io/docs/tasks/debug/debug-cluster/audit/, "Audit policy").
 */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`;

/** AuditFiles are the policy the API server reads and the log it writes. */
export interface AuditFiles {
  readonly policyFile: string;
  readonly logFile: string;
}

/** writeAuditPolicy writes AUDIT_POLICY into `dir` and names the log beside it. */
export async function writeAuditPolicy(dir: string): Promise<AuditFiles> {
  const files = { policyFile: join(dir, 'audit-policy.yaml'), logFile: join(dir, 'audit.log') };
  await writeFile(files.policyFile, AUDIT_POLICY);
  return files;
}

/** auditArgs are the kube-apiserver flags for the files: a JSON-lines log, written before each answer. */
export function auditArgs(files: AuditFiles): string[] {
  return [`--audit-policy-file=${files.policyFile}`, `--audit-log-path=${files.logFile}`, '--audit-log-format=json', '--audit-log-mode=blocking', '--audit-log-maxsize=0'];
}

/** AuditEvent is the part of an audit.k8s.io/v1 Event this project reads. */
export interface AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string; readonly groups?: readonly string[] };
  readonly objectRef?: {
    readonly apiGroup?: string;
    readonly resource?: string;
    readonly subresource?: string;
    readonly namespace?: string;
    readonly name?: string;
  };
  readonly responseStatus?: { readonly code?: number };
  readonly annotations?: Readonly<Record<string, string>>;
}

/** readAuditEvents parses the audit log (one JSON Event a line); a missing log is no events. */
export async function readAuditEvents(logFile: string): Promise<AuditEvent[]> {
  const text = await readFile(logFile, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  });
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as AuditEvent);
}
