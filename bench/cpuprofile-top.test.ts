import { describe, expect, it } from 'vitest';
import { byPackage, topFunctions } from './cpuprofile-top.ts';

const frame = (functionName: string, url: string, lineNumber = 0): { functionName: string; url: string; lineNumber: number } => ({ functionName, url, lineNumber });
// Samples at nodes 2, 3, 3, 4, 3 with 1 ms between them (the first delta is the time before the first sample).
const PROFILE = {
  nodes: [
    { id: 1, callFrame: frame('(root)', '') },
    { id: 2, callFrame: frame('(idle)', '') },
    { id: 3, callFrame: frame('handle', 'file:///x/node_modules/fastify/lib/route.js', 9) },
    { id: 4, callFrame: frame('writev', '') },
  ],
  samples: [2, 3, 3, 4, 3],
  timeDeltas: [500, 1000, 1000, 1000, 1000],
};

describe('cpuprofile summary', () => {
  it('adds the interval after each sample to its leaf function, most first', () => {
    const top = topFunctions(PROFILE);
    expect(top.map((t) => [t.name, t.ms])).toEqual([
      ['handle fastify/lib/route.js:10', 3],
      ['(idle)', 1],
      ['writev', 1],
    ]);
    expect(top[0]!.percent).toBeCloseTo(60);
  });

  it('groups self time by package and can leave out the start', () => {
    expect(byPackage(PROFILE).map((t) => t.name)).toEqual(['fastify', '(idle)', '(native)']);
    expect(topFunctions(PROFILE, { fromMs: 2 }).map((t) => t.name)).toEqual(['handle fastify/lib/route.js:10', 'writev']);
  });
});
