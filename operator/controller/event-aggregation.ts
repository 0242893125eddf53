/** EventType is an Event's `type`: Normal for the expected, Warning for what a human should look at. */
export type EventType = 'Normal' | 'Warning';

/** Occurrence is one call to the recorder, reduced to what decides whether two calls are the same event. */
export interface Occurrence {
  /** regarding is the object's uid, or kind/namespace/name when it has none yet. */
  readonly regarding: string;
  readonly type: EventType;
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

/** Series is the recorder's memory of one event: the Event object once created, and how often it happened. */
export interface Series {
  /** name is the Event's name once the API server accepted it. */
  name: string | undefined;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** written is the count the Event object last showed; the recorder patches when `count` is ahead. */
  written: number;
}

/** Aggregation is what to do with an occurrence: create a new Event, or bump the series of an existing one. */
export type Aggregation = { readonly kind: 'new'; readonly series: Series } | { readonly kind: 'repeat'; readonly series: Series };

/** AggregatorOptions bound the memory: how long a quiet series stays open, and how many are remembered. */
export interface AggregatorOptions {
  readonly windowMs?: number;
  readonly maxEntries?: number;
}

// client-go's events/v1 broadcaster closes a series after six quiet minutes (finishTime).
const DEFAULT_WINDOW_MS = 6 * 60_000;
const DEFAULT_MAX_ENTRIES = 4096;

/** occurrenceKey joins the fields that make two occurrences the same event. */
export function occurrenceKey(occurrence: Occurrence): string {
  return JSON.stringify([occurrence.regarding, occurrence.type, occurrence.reason, occurrence.action, occurrence.note]);
}

/**
 * EventAggregator folds repeats of one event (same object, type, reason, action and message)
 * within a window of the previous occurrence into a series, so a reconcile that fails every few
 * seconds bumps one Event's count instead of creating hundreds. It forgets the least recently
 * seen series beyond `maxEntries`. Pure: time is passed in.
 */
export class EventAggregator {
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #series = new Map<string, Series>();

  constructor(options: AggregatorOptions = {}) {
    this.#windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  /** record notes an occurrence at `now` and says whether it starts a new Event or repeats one. */
  record(occurrence: Occurrence, now: number): Aggregation {
    const key = occurrenceKey(occurrence);
    const existing = this.#series.get(key);
    this.#series.delete(key); // re-inserted below: Map order is recency order
    if (existing !== undefined && now - existing.lastSeen <= this.#windowMs) {
      existing.count++;
      existing.lastSeen = now;
      this.#series.set(key, existing);
      return { kind: 'repeat', series: existing };
    }
    const series: Series = { name: undefined, count: 1, firstSeen: now, lastSeen: now, written: 0 };
    this.#series.set(key, series);
    for (const oldest of this.#series.keys()) {
      if (this.#series.size <= this.#maxEntries) break;
      this.#series.delete(oldest);
    }
    return { kind: 'new', series };
  }

  /** size is how many series are remembered. */
  size(): number {
    return this.#series.size;
  }
}

// Event notes are limited to 1 kB by the API server's validation (events.k8s.io/v1).
const NOTE_LIMIT = 1024;

/** truncateNote keeps a message within the API server's limit, marking the cut. */
export function truncateNote(note: string): string {
  if (Buffer.byteLength(note) <= NOTE_LIMIT) return note;
  let cut = note.slice(0, NOTE_LIMIT - 3);
  while (Buffer.byteLength(cut) > NOTE_LIMIT - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

// Object names are at most 253 characters; the suffix is '.' and up to 16 hex digits.
const NAME_PREFIX_LIMIT = 253 - 17;

/** eventName is `<object>.<hex nanoseconds>` like client-go's, with a sequence number so two events in one millisecond differ. */
export function eventName(objectName: string, now: number, sequence: number): string {
  const nanos = BigInt(Math.floor(now)) * 1_000_000n + BigInt(sequence % 1_000_000);
  return `${objectName.slice(0, NAME_PREFIX_LIMIT)}.${nanos.toString(16)}`;
}
