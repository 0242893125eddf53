import { describe, expect, it } from 'vitest';
import { configProblems, MINIMAL_PROXY_CONFIG } from '../../test/harness/config-problems.ts';
import { aliasProblems, resolveModel } from './aliases.ts';

describe('model aliases', () => {
  const aliases = { fast: { model: 'llama3-3-70b' }, big: { model: 'gpt-oss-120b' } };

  it('resolve an alias to its model in one step, and leave other names alone', () => {
    expect(resolveModel('fast', aliases)).toEqual({ requested: 'fast', upstream: 'llama3-3-70b', aliased: true });
    expect(resolveModel('llama3-3-70b', aliases)).toEqual({ requested: 'llama3-3-70b', upstream: 'llama3-3-70b', aliased: false });
    expect(resolveModel('toString', aliases).aliased).toBe(false); // only the table's own names
  });

  it('may not name another alias, or themselves', () => {
    expect(aliasProblems(aliases)).toEqual([]);
    expect(aliasProblems({ a: { model: 'b' }, b: { model: 'm' }, self: { model: 'self' } })).toEqual([
      'models.aliases.a.model must name an upstream model, not an alias (b)',
      'models.aliases.self.model must name an upstream model, not an alias (self)',
    ]);
  });

  it('are checked when the configuration loads', () => {
    expect(configProblems({ ...MINIMAL_PROXY_CONFIG, models: { aliases } })).toEqual([]);
    expect(configProblems({ ...MINIMAL_PROXY_CONFIG, models: { aliases: { a: { model: 'a' } } } })).toEqual(['models.aliases.a.model must name an upstream model, not an alias (a)']);
    expect(configProblems({ ...MINIMAL_PROXY_CONFIG, models: { aliases: { a: { model: '' } } } })[0]).toContain('models.aliases.a.model must not have fewer than 1 characters');
  });
});
