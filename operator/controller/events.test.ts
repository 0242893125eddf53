import type { EventsV1Event, KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventAggregator, eventName, truncateNote, type Occurrence } from './event-aggregation.ts';
import { EventRecorder, type EventSink } from './events.ts';
import { FakeClock } from './fake-clock.ts';

const occurrence = (note = 'upstream unreachable'): Occurrence => ({ regarding: 'uid-1', type: 'Warning', reason: 'AttestationFailed', action: 'Verify', note });

describe('EventAggregator', () => {
  it('folds repeats within the window into one series and starts over after a quiet window', () => {
    const aggregator = new EventAggregator({ windowMs: 60_000 });
    expect(aggregator.record(occurrence(), 0).kind).toBe('new');
    const second = aggregator.record(occurrence(), 30_000);
    expect(second.kind).toBe('repeat');
    expect(second.series).toMatchObject({ count: 2, firstSeen: 0, lastSeen: 30_000 });
    expect(aggregator.record(occurrence(), 90_000).kind).toBe('repeat'); // within a minute of the previous one
    expect(aggregator.record(occurrence(), 150_001).kind).toBe('new');
  });

  it('keeps events apart that differ in object, reason, type, action or message', () => {
    const aggregator = new EventAggregator();
    aggregator.record(occurrence(), 0);
    for (const other of [
      { ...occurrence(), regarding: 'uid-2' },
      { ...occurrence(), reason: 'Other' },
      { ...occurrence(), type: 'Normal' as const },
      { ...occurrence(), action: 'Other' },
      occurrence('another message'),
    ]) expect(aggregator.record(other, 1).kind).toBe('new');
    expect(aggregator.size()).toBe(6);
  });

  it('forgets the least recently seen series beyond its limit', () => {
    const aggregator = new EventAggregator({ maxEntries: 2 });
    aggregator.record(occurrence('a'), 0);
    aggregator.record(occurrence('b'), 1);
    aggregator.record(occurrence('a'), 2); // a is now the most recent
    aggregator.record(occurrence('c'), 3); // evicts b
    expect(aggregator.size()).toBe(2);
    expect(aggregator.record(occurrence('a'), 4).kind).toBe('repeat');
    expect(aggregator.record(occurrence('b'), 5).kind).toBe('new');
  });

  it('names events like client-go and keeps notes within the API limit', () => {
    expect(eventName('ep', 1_700_000_000_000, 7)).toBe(`ep.${(1_700_000_000_000n * 1_000_000n + 7n).toString(16)}`);
    expect(eventName('x'.repeat(300), 1, 0).length).toBeLessThanOrEqual(253);
    expect(truncateNote('short')).toBe('short');
    const long = truncateNote('é'.repeat(2000));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(1024);
    expect(long.endsWith('...')).toBe(true);
  });
});

/** FakeSink records writes; `hold` keeps the next write pending until released. */
class FakeSink implements EventSink {
  readonly created: EventsV1Event[] = [];
  readonly patches: { name: string; count: number }[] = [];
  failPatchWith: number | undefined;
  #gate: Promise<void> | undefined;

  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise<void>((resolve) => (release = resolve));
    return release;
  }

  async create(event: EventsV1Event): Promise<void> {
    await this.#wait();
    this.created.push(event);
  }

  async patchSeries(_namespace: string, name: string, count: number): Promise<void> {
    await this.#wait();
    if (this.failPatchWith !== undefined) throw Object.assign(new Error('patch failed'), { code: this.failPatchWith });
    this.patches.push({ name, count });
  }

  async #wait(): Promise<void> {
    const gate = this.#gate;
    this.#gate = undefined;
    if (gate !== undefined) await gate;
  }
}

const endpoint: KubernetesObject = { apiVersion: 'inference.attested.dev/v1alpha1', kind: 'InferenceEndpoint', metadata: { name: 'ep', namespace: 'team', uid: 'u1', resourceVersion: '5' } };

function recorder(sink: EventSink, clock: FakeClock): EventRecorder {
  return new EventRecorder({ sink, logger: pino({ level: 'silent' }), clock }, { reportingController: 'inference.attested.dev/operator', reportingInstance: 'pod-0' });
}

describe('EventRecorder', () => {
  it('creates one Event, then patches its series count for repeats', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock(1_000);
    const events = recorder(sink, clock);
    events.record(endpoint, { type: 'Warning', reason: 'AttestationFailed', message: 'digest mismatch', action: 'Verify' });
    await events.flush();
    expect(sink.created).toHaveLength(1);
    expect(sink.created[0]).toMatchObject({
      metadata: { namespace: 'team' },
      type: 'Warning',
      reason: 'AttestationFailed',
      action: 'Verify',
      note: 'digest mismatch',
      reportingController: 'inference.attested.dev/operator',
      reportingInstance: 'pod-0',
      regarding: { kind: 'InferenceEndpoint', name: 'ep', namespace: 'team', uid: 'u1' },
    });
    await clock.advance(5_000);
    events.record(endpoint, { type: 'Warning', reason: 'AttestationFailed', message: 'digest mismatch', action: 'Verify' });
    await events.flush();
    expect(sink.created).toHaveLength(1);
    expect(sink.patches).toEqual([{ name: sink.created[0]!.metadata!.name, count: 2 }]);
  });

  it('folds a burst that arrives while a write is in flight into one follow-up patch', async () => {
    const sink = new FakeSink();
    const events = recorder(sink, new FakeClock());
    const release = sink.hold();
    for (let i = 0; i < 50; i++) events.event(endpoint, 'Normal', 'Rolled', 'rolled proxies');
    release();
    await events.flush();
    expect(sink.created).toHaveLength(1);
    expect(sink.patches).toEqual([{ name: sink.created[0]!.metadata!.name, count: 50 }]);
  });

  it('starts a new Event when the old one expired from the API server', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const events = recorder(sink, clock);
    events.event(endpoint, 'Normal', 'Rolled', 'rolled proxies');
    await events.flush();
    sink.failPatchWith = 404;
    events.event(endpoint, 'Normal', 'Rolled', 'rolled proxies');
    await events.flush();
    sink.failPatchWith = undefined;
    events.event(endpoint, 'Normal', 'Rolled', 'rolled proxies');
    await events.flush();
    expect(sink.created).toHaveLength(2);
    expect(sink.patches).toEqual([]);
  });
});
