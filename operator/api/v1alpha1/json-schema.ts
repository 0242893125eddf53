/**
 * The subset of apiextensions.k8s.io/v1 JSONSchemaProps the InferenceEndpoint schema uses, with the
 * wire names (`x-kubernetes-…`), so the TypeScript object serialises to the CRD as it stands.
 * Schemas must be structural (Kubernetes docs, "Specifying a structural schema"): every node has a
 * type, and `anyOf` branches carry no type, description or default.
 */
export interface JSONSchemaProps {
  readonly description?: string;
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly format?: string;
  readonly properties?: Readonly<Record<string, JSONSchemaProps>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: JSONSchemaProps;
  readonly items?: JSONSchemaProps;
  readonly anyOf?: readonly JSONSchemaProps[];
  readonly enum?: readonly (string | number | boolean)[];
  readonly default?: unknown;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly 'x-kubernetes-validations'?: readonly ValidationRule[];
  readonly 'x-kubernetes-preserve-unknown-fields'?: true;
  readonly 'x-kubernetes-int-or-string'?: true;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** ValidationRule is one CEL rule (`x-kubernetes-validations`); `self` is the node it sits on. */
export interface ValidationRule {
  readonly rule: string;
  readonly message: string;
  /** fieldPath points the error at a field below `self` (a JSONPath such as `.attestation.policy`). */
  readonly fieldPath?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

// What follows compares a hand-written TypeScript type with a schema object kept with `as const`,
// at compile time. A field is required in the type when the schema requires it or defaults it,
// because objects read back from the API server always carry their defaults.

type Props<S> = S extends { readonly properties: infer P } ? P : never;
type SchemaRequired<S> =
  | (S extends { readonly required: readonly (infer R)[] } ? R : never)
  | { [K in keyof Props<S>]: Props<S>[K] extends { readonly default: unknown } ? K : never }[keyof Props<S>];
type TypeRequired<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Str<K> = K & string;

type LeafType<S> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly 'x-kubernetes-int-or-string': true }
    ? string | number
    : S extends { readonly type: 'string' }
      ? string
      : S extends { readonly type: 'integer' | 'number' }
        ? number
        : S extends { readonly type: 'boolean' }
          ? boolean
          : unknown;

type LeafMismatches<T, S, Path extends string> = S extends { readonly type: 'object' }
  ? [T] extends [object] ? never : `${Path}: the type is not an object`
  : Same<T, LeafType<S>> extends true ? never : `${Path}: the type differs from the schema's`;

type ObjectMismatches<T, S, Path extends string> =
  | `${Path}.${Str<Exclude<keyof T, keyof Props<S>>>}: only in the type`
  | `${Path}.${Str<Exclude<keyof Props<S>, keyof T>>}: only in the schema`
  | `${Path}.${Str<Exclude<TypeRequired<T> & keyof Props<S>, SchemaRequired<S>>>}: required in the type, optional in the schema`
  | `${Path}.${Str<Exclude<SchemaRequired<S> & keyof T, TypeRequired<T>>>}: required or defaulted in the schema, optional in the type`
  | { [K in Str<keyof Props<S> & keyof T>]: SchemaMismatches<NonNullable<T[K]>, Props<S>[K], `${Path}.${K}`> }[Str<keyof Props<S> & keyof T>];

/**
 * SchemaMismatches is `never` when type `T` and schema `S` agree on field names, on which fields are
 * optional and on leaf types (enums included); otherwise a union of messages naming the fields.
 */
export type SchemaMismatches<T, S, Path extends string = ''> = S extends { readonly properties: object }
  ? ObjectMismatches<T, S, Path>
  : S extends { readonly items: infer I }
    ? T extends readonly (infer E)[] ? SchemaMismatches<E, I, `${Path}[]`> : `${Path}: the type is not an array`
    : S extends { readonly additionalProperties: infer A }
      ? T extends Readonly<Record<string, infer V>> ? SchemaMismatches<V, A, `${Path}[*]`> : `${Path}: the type is not a map`
      : LeafMismatches<T, S, Path>;

/**
 * defaultsOf is the default of an object whose properties have defaults: each property's default.
 * The API server checks a default against the CEL rules as written, without applying the
 * properties' own defaults first, so a bare `{}` would fail rules that read those properties.
 */
export function defaultsOf(properties: Readonly<Record<string, JSONSchemaProps>>): Readonly<Record<string, unknown>> {
  return Object.fromEntries(Object.entries(properties).flatMap(([name, p]) => (p.default === undefined ? [] : [[name, p.default]])));
}
