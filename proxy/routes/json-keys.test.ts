import { describe, expect, it } from 'vitest';
import { findKeyConflict } from './json-keys.ts';

const topOnly = (path: string): boolean => path === '';
const never = (): boolean => false;

describe('findKeyConflict', () => {
  it('finds nothing in bodies without repeated names', () => {
    for (const text of ['{}', '[]', '"x"', '1', 'null', '{"a":1,"b":[1,2,{"a":2}],"c":{"a":{"a":3}}}', ' { "a" : "b\\"c" , "d" : [ ] } ']) {
      expect(findKeyConflict(text, topOnly), text).toBeUndefined();
    }
  });

  it('finds an exact duplicate at the top level and at any depth, with its path', () => {
    expect(findKeyConflict('{"model":"a","x":1,"model":"b"}', never)).toEqual({ path: '', key: 'model', kind: 'duplicate' });
    expect(findKeyConflict('{"stream_options":{"include_usage":false,"include_usage":true}}', never)).toEqual({
      path: 'stream_options', key: 'include_usage', kind: 'duplicate',
    });
    expect(findKeyConflict('{"messages":[{"role":"user"},{"role":"a","role":"b"}]}', never)).toEqual({ path: 'messages[]', key: 'role', kind: 'duplicate' });
    expect(findKeyConflict('[[{"a":1,"a":2}]]', never)).toEqual({ path: '[][]', key: 'a', kind: 'duplicate' });
    expect(findKeyConflict('{"a":{"b":{"c":1,"c":2}}}', never)).toEqual({ path: 'a.b', key: 'c', kind: 'duplicate' });
  });

  it('does not confuse values, or names of sibling objects, with names', () => {
    expect(findKeyConflict('{"a":"a","b":"a"}', never)).toBeUndefined();
    expect(findKeyConflict('{"a":["a","a"],"b":{"a":1},"c":{"a":2}}', never)).toBeUndefined();
    expect(findKeyConflict('{"a":"{\\"a\\":1,\\"a\\":2}"}', never)).toBeUndefined();
    expect(findKeyConflict('{"a":true,"b":null,"c":-1.5e3,"d":false}', never)).toBeUndefined();
  });

  it('resolves escapes before comparing, as every parser does', () => {
    expect(findKeyConflict('{"model":"a","mod\\u0065l":"b"}', never)).toEqual({ path: '', key: 'model', kind: 'duplicate' });
    expect(findKeyConflict('{"a\\\\":1,"a\\\\":2}', never)).toEqual({ path: '', key: 'a\\', kind: 'duplicate' });
    expect(findKeyConflict('{"a\\\\":1,"a":2}', never)).toBeUndefined();
  });

  it('folds case only where asked', () => {
    expect(findKeyConflict('{"model":"a","MODEL":"b"}', topOnly)).toEqual({ path: '', key: 'MODEL', kind: 'case' });
    expect(findKeyConflict('{"model":"a","MODEL":"b"}', never)).toBeUndefined();
    expect(findKeyConflict('{"p":{"Name":1,"name":2}}', topOnly)).toBeUndefined();
    expect(findKeyConflict('{"p":{"Name":1,"name":2}}', (path) => path === 'p')).toEqual({ path: 'p', key: 'name', kind: 'case' });
  });

  it('agrees with JSON.parse on what the members are: a body without conflicts parses to as many keys as it names', () => {
    const names = Array.from({ length: 200 }, (_, i) => `k${String(i)}`);
    const text = `{${names.map((n, i) => `"${n}":${i % 2 === 0 ? `{"${n}":[${String(i)}]}` : `"${n}"`}`).join(',')}}`;
    expect(findKeyConflict(text, topOnly)).toBeUndefined();
    expect(Object.keys(JSON.parse(text) as object)).toHaveLength(200);
  });

  it('agrees with a reference walk on 500 random bodies, some with a name repeated', () => {
    let seed = 42;
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const NAMES = ['model', 'Model', 'stream', 'a', '\\u0063', 'c', 'x"y', 'messages'];
    /** build writes a random value and says whether it repeated a name anywhere. */
    const build = (depth: number): { text: string; repeated: boolean } => {
      const kind = depth > 3 ? 3 : next(5);
      if (kind === 0 || kind === 1) {
        const names = Array.from({ length: next(5) }, () => NAMES[next(NAMES.length)]!);
        const members = names.map((n) => ({ name: n, value: build(depth + 1) }));
        const decoded = names.map((n) => JSON.parse(`"${n.replace('"', '\\"')}"`) as string);
        const repeated = new Set(decoded).size < decoded.length || members.some((m) => m.value.repeated);
        return { text: `{${members.map((m) => `"${m.name.replace('"', '\\"')}" : ${m.value.text}`).join(',')}}`, repeated };
      }
      if (kind === 2) {
        const items = Array.from({ length: next(4) }, () => build(depth + 1));
        return { text: `[${items.map((i) => i.text).join(', ')}]`, repeated: items.some((i) => i.repeated) };
      }
      return { text: ['1', '-2.5e3', 'true', 'null', '"s\\"}"', '"{\\"a\\":1}"'][next(6)]!, repeated: false };
    };
    let withRepeats = 0;
    for (let i = 0; i < 500; i++) {
      const { text, repeated } = build(0);
      expect(() => JSON.parse(text) as unknown, text).not.toThrow();
      expect(findKeyConflict(text, never)?.kind === 'duplicate', text).toBe(repeated);
      if (repeated) withRepeats++;
    }
    expect(withRepeats).toBeGreaterThan(50);
    expect(withRepeats).toBeLessThan(450);
  });

  it('scans deep nesting without recursion and long bodies in linear time', () => {
    const deep = `${'['.repeat(100_000)}{"a":1,"a":2}${']'.repeat(100_000)}`;
    expect(JSON.parse(deep)).toBeDefined();
    expect(findKeyConflict(deep, never)?.kind).toBe('duplicate');
    const strings = `{"input":[${Array.from({ length: 200_000 }, () => '"abc"').join(',')}],"x\\n":1}`;
    const started = performance.now();
    expect(findKeyConflict(strings, topOnly)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
