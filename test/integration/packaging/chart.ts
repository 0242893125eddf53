import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { CommandResult } from '../../harness/commands.ts';

/** CHART_DIR is the chart's folder; tests pass it to the pinned helm. */
export const CHART_DIR = join(import.meta.dirname, '..', '..', '..', 'charts', 'attested-inference-operator');

/** Rendered is one object of a `helm template` or `kubectl kustomize` output. */
export interface Rendered {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** parseObjects reads a multi-document YAML stream, dropping empty documents. */
export function parseObjects(text: string): Rendered[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Rendered | null).filter((o): o is Rendered => o !== null);
}

/** ids names objects as Kind/namespace/name, sorted, for whole-list comparisons. */
export function ids(objects: readonly Rendered[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
}

/** find returns the one object of `kind` (and `name` when given), or throws naming what is there. */
export function find(objects: readonly Rendered[], kind: string, name?: string): Rendered {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found === undefined) throw new Error(`no ${kind} ${name ?? ''} among ${ids(objects).join(', ')}`);
  return found;
}

/** operatorContainer is the Deployment's only container. */
export function operatorContainer(objects: readonly Rendered[]): { args: string[]; image: string; securityContext: Record<string, unknown>; env: { name: string }[] } {
  const deployment = find(objects, 'Deployment') as unknown as { spec: { template: { spec: { containers: { args: string[]; image: string; securityContext: Record<string, unknown>; env: { name: string }[] }[] } } } };
  const container = deployment.spec.template.spec.containers[0];
  if (container === undefined) throw new Error('the Deployment has no container');
  return container;
}

/** expectOk throws with the command's stderr unless it exited 0. */
export function expectOk(result: CommandResult, what: string): string {
  if (result.code !== 0) throw new Error(`${what} failed (${String(result.code)}): ${result.stderr}`);
  return result.stdout;
}
