import { describe, expect, it } from 'vitest';
import { RolloutPacer } from './rollout-pacer.ts';

function pacer(maxConcurrent = 2, turnTimeoutMs = 60_000): { pacer: RolloutPacer; freed: string[][]; clock: { now: number } } {
  const clock = { now: 0 };
  const freed: string[][] = [];
  return { pacer: new RolloutPacer({ now: () => clock.now, onTurnFreed: (keys) => freed.push([...keys]) }, { maxConcurrent, turnTimeoutMs }), freed, clock };
}

describe('RolloutPacer', () => {
  it('grants at most maxConcurrent turns per upstream, keeps a granted turn, and queues the rest in arrival order', () => {
    const { pacer: p } = pacer(2);
    expect(p.request('up', 'a')).toEqual({ granted: true });
    expect(p.request('up', 'b')).toEqual({ granted: true });
    expect(p.request('up', 'c')).toEqual({ granted: false, position: 1, rolling: 2, newlyWaiting: true });
    expect(p.request('up', 'd')).toMatchObject({ granted: false, position: 2 });
    expect(p.request('up', 'c')).toMatchObject({ granted: false, position: 1, newlyWaiting: false });
    expect(p.request('up', 'a')).toEqual({ granted: true });
    // Another upstream has turns of its own.
    expect(p.request('other', 'x')).toEqual({ granted: true });
    expect(p.rolling('up')).toBe(2);
  });

  it('frees a turn when its rollout settles and tells the waiting endpoints', () => {
    const { pacer: p, freed } = pacer(1);
    p.request('up', 'a');
    p.request('up', 'b');
    p.request('up', 'c');
    p.settled('up', 'a');
    expect(freed).toEqual([['b', 'c']]);
    expect(p.request('up', 'c')).toEqual({ granted: true });
    expect(p.request('up', 'b')).toMatchObject({ granted: false, position: 1 });
  });

  it('ends a turn that did not settle within the turn timeout, and does not give it back by occupy', () => {
    const { pacer: p, clock } = pacer(1, 1000);
    p.request('up', 'stuck');
    expect(p.request('up', 'next')).toMatchObject({ granted: false });
    clock.now = 1000;
    expect(p.request('up', 'next')).toEqual({ granted: true });
    p.occupy('up', 'stuck');
    expect(p.rolling('up')).toBe(1);
  });

  it('counts rollouts found under way (a previous leader started them) against the limit', () => {
    const { pacer: p } = pacer(1);
    p.occupy('up', 'inherited');
    expect(p.request('up', 'new')).toMatchObject({ granted: false });
    p.forget('inherited');
    expect(p.request('up', 'new')).toEqual({ granted: true });
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new RolloutPacer({ now: () => 0 }, { maxConcurrent: 0, turnTimeoutMs: 1 })).toThrow(/maxConcurrent must be a positive integer/);
  });
});
