/**
 * A small RFC 6902 JSON Patch diff, enough for admission responses: the webhook mutates a copy of
 * the pod and sends the difference (the Kubernetes admission docs require `patchType: JSONPatch`).
 * Written here rather than taken from a library because the webhook needs only `add`, `remove` and
 * `replace`, and a few dozen lines are easier to audit than a dependency.
 */

/** PatchOperation is one RFC 6902 operation the diff emits. */
export type PatchOperation =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** pointer escapes one reference token (RFC 6901 §3: `~` becomes `~0`, `/` becomes `~1`). */
export function pointer(token: string | number): string {
  return `/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * diffArrays turns growth at either end into `add`s (index paths are applied in order, RFC 6902
 * §4.1), descends into same-length arrays element by element, and replaces anything else whole.
 */
function diffArrays(path: string, before: Json[], after: Json[], out: PatchOperation[]): void {
  const extra = after.length - before.length;
  if (extra > 0 && before.every((v, i) => equal(v, after[i]))) {
    for (let i = before.length; i < after.length; i++) out.push({ op: 'add', path: `${path}${pointer(i)}`, value: after[i] });
  } else if (extra > 0 && before.every((v, i) => equal(v, after[i + extra]))) {
    for (let i = 0; i < extra; i++) out.push({ op: 'add', path: `${path}${pointer(i)}`, value: after[i] });
  } else if (extra === 0) {
    before.forEach((v, i) => diffValues(`${path}${pointer(i)}`, v, after[i] ?? null, out));
  } else {
    out.push({ op: 'replace', path, value: after });
  }
}

function diffObjects(path: string, before: Record<string, Json>, after: Record<string, Json>, out: PatchOperation[]): void {
  for (const key of Object.keys(before)) if (!(key in after)) out.push({ op: 'remove', path: `${path}${pointer(key)}` });
  for (const [key, value] of Object.entries(after)) {
    if (!(key in before)) out.push({ op: 'add', path: `${path}${pointer(key)}`, value });
    else diffValues(`${path}${pointer(key)}`, before[key] ?? null, value, out);
  }
}

function diffValues(path: string, before: Json, after: Json, out: PatchOperation[]): void {
  if (equal(before, after)) return;
  if (Array.isArray(before) && Array.isArray(after)) diffArrays(path, before, after, out);
  else if (isObject(before) && isObject(after)) diffObjects(path, before, after, out);
  else out.push({ op: 'replace', path, value: after });
}

/** diff is the JSON Patch that turns `before` into `after`; both are JSON values (undefined members dropped first). */
export function diff(before: unknown, after: unknown): PatchOperation[] {
  const out: PatchOperation[] = [];
  diffValues('', JSON.parse(JSON.stringify(before)) as Json, JSON.parse(JSON.stringify(after)) as Json, out);
  return out;
}
