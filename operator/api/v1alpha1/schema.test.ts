import { describe, expect, it } from 'vitest';
import { defaultsOf, type JSONSchemaProps, type SchemaMismatches } from './json-schema.ts';
import * as patterns from './patterns.ts';
import { inferenceEndpointSchema, specSchema, statusSchema } from './schema.ts';
import type { InferenceEndpointSpec, InferenceEndpointStatus } from './types.ts';

interface Node {
  readonly path: string;
  readonly schema: JSONSchemaProps;
}

/** nodes lists every schema node under `schema` with its path; `[]` is a list item and `[*]` a map value. */
function nodes(schema: JSONSchemaProps, path = ''): Node[] {
  const here: Node[] = [{ path, schema }];
  for (const [name, child] of Object.entries(schema.properties ?? {})) here.push(...nodes(child, `${path}.${name}`));
  if (schema.items) here.push(...nodes(schema.items, `${path}[]`));
  if (schema.additionalProperties) here.push(...nodes(schema.additionalProperties, `${path}[*]`));
  return here;
}

const all = nodes(inferenceEndpointSchema);

describe('the InferenceEndpoint schema', () => {
  it('describes every property, so kubectl explain is useful', () => {
    // The API server forbids anything on metadata but name and generateName; kubectl explains it anyway.
    const exempt = (path: string): boolean => path === '.metadata' || /(\[\]|\[\*\])$/.test(path);
    const undescribed = all.filter(({ path, schema }) => schema.description === undefined && !exempt(path));
    expect(undescribed.map((n) => n.path)).toEqual([]);
  });

  it('says each scalar default in the description, since kubectl explain does not show defaults', () => {
    const silent = all.filter(({ schema }) => ['string', 'integer', 'boolean'].includes(schema.type ?? '') && schema.default !== undefined)
      .filter(({ schema }) => !(schema.description ?? '').includes(String(schema.default)));
    expect(silent.map((n) => n.path)).toEqual([]);
  });

  it('gives every object with defaulted properties their defaults, so a minimal spec reads back complete', () => {
    const missing = all.filter(({ schema }) => schema.default !== undefined && schema.type === 'object')
      .filter(({ schema }) => JSON.stringify(schema.default) !== JSON.stringify(defaultsOf(schema.properties ?? {})));
    expect(missing.map((n) => n.path)).toEqual([]);
  });

  it('gives every CEL rule a message, and points fieldPath at a property of the node', () => {
    for (const { path, schema } of all) {
      for (const rule of schema['x-kubernetes-validations'] ?? []) {
        expect(rule.message, `${path}: ${rule.rule}`).toMatch(/\S/);
        if (rule.fieldPath === undefined) continue;
        const target = rule.fieldPath.split('.').slice(1).reduce<JSONSchemaProps | undefined>((s, name) => s?.properties?.[name], schema);
        expect(target, `${path}: fieldPath ${rule.fieldPath}`).toBeDefined();
      }
    }
  });

  it('bounds every list and map that a CEL rule walks', () => {
    const walked = all.filter(({ schema }) => (schema['x-kubernetes-validations'] ?? []).some((r) => /\.(exists|all)\(/.test(r.rule)));
    for (const { path, schema } of walked) expect(schema.maxItems ?? schema.maxProperties, path).toBeDefined();
  });

  it('uses patterns that JavaScript also compiles', () => {
    for (const [name, pattern] of Object.entries(patterns)) expect(() => new RegExp(pattern, 'u'), name).not.toThrow();
  });

  it('agrees with the TypeScript types field by field', () => {
    // A mismatch fails `tsc` on these lines and lists each field as a missing key of the object.
    const spec: { [K in SchemaMismatches<InferenceEndpointSpec, typeof specSchema>]: true } = {};
    const status: { [K in SchemaMismatches<InferenceEndpointStatus, typeof statusSchema>]: true } = {};
    expect({ ...spec, ...status }).toEqual({});
  });
});
