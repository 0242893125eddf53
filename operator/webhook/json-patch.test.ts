import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../test/fixtures/webhook/patches.ts';
import { diff, pointer } from './json-patch.ts';

describe('the JSON Patch diff', () => {
  it('escapes reference tokens (RFC 6901 §3)', () => {
    expect(pointer('inference.attested.dev/status')).toBe('/inference.attested.dev~1status');
    expect(pointer('a~b')).toBe('/a~0b');
  });

  it('adds at the end or the front of arrays, and descends into same-length arrays', () => {
    expect(diff({ a: [1, 2] }, { a: [1, 2, 3] })).toEqual([{ op: 'add', path: '/a/2', value: 3 }]);
    expect(diff({ a: [1, 2] }, { a: [0, 9, 1, 2] })).toEqual([{ op: 'add', path: '/a/0', value: 0 }, { op: 'add', path: '/a/1', value: 9 }]);
    expect(diff({ a: [{ x: 1 }] }, { a: [{ x: 2 }] })).toEqual([{ op: 'replace', path: '/a/0/x', value: 2 }]);
    expect(diff({ a: [1, 2] }, { a: [2] })).toEqual([{ op: 'replace', path: '/a', value: [2] }]);
  });

  it('adds, removes and replaces members, and is empty for equal documents', () => {
    expect(diff({ a: 1, b: 2 }, { a: 1, c: 3 })).toEqual([{ op: 'remove', path: '/b' }, { op: 'add', path: '/c', value: 3 }]);
    expect(diff({ a: { b: 'x' } }, { a: 'y' })).toEqual([{ op: 'replace', path: '/a', value: 'y' }]);
    expect(diff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
  });

  it('round-trips: applying the diff to the original gives the target', () => {
    const before = { metadata: { labels: { a: '1' } }, spec: { containers: [{ name: 'app', env: [{ name: 'X', value: '1' }] }], volumes: [{ name: 'v' }] } };
    const after = { metadata: { labels: { a: '1', 'b/c': '2' }, annotations: { 'x~y': 'z' } }, spec: { initContainers: [{ name: 's' }], containers: [{ name: 'app', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] }], volumes: [{ name: 'v' }, { name: 'w' }] } };
    expect(applyPatch(before, diff(before, after))).toEqual(after);
  });
});
