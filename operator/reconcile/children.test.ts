import { describe, expect, it } from 'vitest';
import { holdFor } from './children.ts';

describe('holdFor', () => {
  it('holds back every write while any name is held by another object, naming each', () => {
    expect(holdFor([{ decision: 'Skip' }, { decision: 'Create' }, { decision: 'Conflict', holder: 'Service team/chat (controlled by no object)' }, { decision: 'Apply', uid: 'u' }])).toEqual({
      reason: 'NameConflict',
      holders: ['Service team/chat (controlled by no object)'],
    });
  });

  it('reports a conflict before waiting for the garbage collector, which ends by itself', () => {
    expect(holdFor([{ decision: 'AwaitCollection', holder: 'a' }, { decision: 'Conflict', holder: 'b' }])).toMatchObject({ reason: 'NameConflict', holders: ['b'] });
    expect(holdFor([{ decision: 'AwaitCollection', holder: 'a' }, { decision: 'Create' }])).toEqual({ reason: 'AwaitingCollection' });
  });

  it('holds nothing when every name is free or the endpoint\'s', () => {
    expect(holdFor([{ decision: 'Skip' }, { decision: 'Create' }, { decision: 'Apply', uid: 'u' }])).toBeUndefined();
  });
});
