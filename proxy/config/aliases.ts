/**
 * Model aliases (`models.aliases`): names callers use for an upstream's model. An alias resolves in
 * one step, so an alias may not name another alias (or itself): a chain would make what a caller
 * reaches depend on the order of the table.
 */

/** ModelAliases maps an alias to the upstream model it stands for. */
export type ModelAliases = Readonly<Record<string, { readonly model: string }>>;

/** aliasProblems names each alias that maps to an alias. */
export function aliasProblems(aliases: ModelAliases): string[] {
  return Object.entries(aliases)
    .filter(([, target]) => Object.hasOwn(aliases, target.model))
    .map(([alias, target]) => `models.aliases.${alias}.model must name an upstream model, not an alias (${target.model})`);
}

/** ResolvedModel is the model a request names, and the upstream model it reaches. */
export interface ResolvedModel {
  /** requested is the name the caller sent: an alias or a model. */
  readonly requested: string;
  /** upstream is the model sent upstream: the alias's target, else the requested name. */
  readonly upstream: string;
  readonly aliased: boolean;
}

/** resolveModel looks `model` up in the aliases. */
export function resolveModel(model: string, aliases: ModelAliases): ResolvedModel {
  const target = Object.hasOwn(aliases, model) ? aliases[model] : undefined;
  return target === undefined ? { requested: model, upstream: model, aliased: false } : { requested: model, upstream: target.model, aliased: true };
}
