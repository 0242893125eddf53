import { V1MicroTime, type EventsV1Api, type EventsV1Event, type KubernetesObject, type V1ObjectReference } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage, isNotFound } from './api-errors.ts';
import { systemClock, type Clock } from './clock.ts';
import { EventAggregator, eventName, truncateNote, type AggregatorOptions, type EventType, type Series } from './event-aggregation.ts';

export type { EventType } from './event-aggregation.ts';

/** EventSink writes Events; `patchSeries` throws a 404 error when the Event is gone (Events expire after an hour). */
export interface EventSink {
  create(event: EventsV1Event): Promise<void>;
  patchSeries(namespace: string, name: string, count: number, lastObserved: number): Promise<void>;
}

/** kubernetesEventSink writes events.k8s.io/v1 Events through the API server. */
export function kubernetesEventSink(api: EventsV1Api): EventSink {
  return {
    async create(event) {
      await api.createNamespacedEvent({ namespace: event.metadata?.namespace ?? 'default', body: event });
    },
    async patchSeries(namespace, name, count, lastObserved) {
      // JSON patch (the client's default patch type); `add` creates or replaces /series.
      const body = [{ op: 'add', path: '/series', value: { count, lastObservedTime: new V1MicroTime(lastObserved) } }];
      await api.patchNamespacedEvent({ namespace, name, body });
    },
  };
}

/** EventRecorderOptions name who reports, as the Event's reportingController and reportingInstance fields. */
export interface EventRecorderOptions extends AggregatorOptions {
  /** reportingController is a qualified name such as `inference.attested.dev/operator`. */
  readonly reportingController: string;
  /** reportingInstance tells replicas apart, usually the pod name. */
  readonly reportingInstance: string;
  /** defaultAction fills the required `action` field when a call gives none. */
  readonly defaultAction?: string;
}

/** EventRecorderDeps are the recorder's collaborators. */
export interface EventRecorderDeps {
  readonly sink: EventSink;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/** EventDetails describe one occurrence; `action` defaults to the recorder's defaultAction, else the reason. */
export interface EventDetails {
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
  readonly action?: string;
  readonly related?: KubernetesObject;
}

/**
 * EventRecorder records Events about objects without ever failing the caller: writes happen in the
 * background and errors are logged. Repeats within the window become one Event with a growing
 * `series.count`; while a write for an event is in flight, further repeats are folded into one
 * follow-up patch, so a burst costs at most two requests.
 */
export class EventRecorder {
  readonly #sink: EventSink;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #options: EventRecorderOptions;
  readonly #aggregator: EventAggregator;
  readonly #writing = new Map<Series, Promise<void>>();
  #sequence = 0;

  constructor(deps: EventRecorderDeps, options: EventRecorderOptions) {
    this.#sink = deps.sink;
    this.#logger = deps.logger.child({ component: 'events' });
    this.#clock = deps.clock ?? systemClock;
    this.#options = options;
    this.#aggregator = new EventAggregator(options);
  }

  /** event records that `reason` happened to `object`; `message` is the human sentence. */
  event(object: KubernetesObject, type: EventType, reason: string, message: string): void {
    this.record(object, { type, reason, message });
  }

  /** record is `event` with the optional parts: what was done (`action`) and a second object involved (`related`). */
  record(object: KubernetesObject, details: EventDetails): void {
    const regarding = referenceTo(object);
    const action = details.action ?? this.#options.defaultAction ?? details.reason;
    const note = truncateNote(details.message);
    const { type, reason } = details;
    const now = this.#clock.now();
    const identity = regarding.uid ?? `${regarding.kind ?? ''}/${regarding.namespace ?? ''}/${regarding.name ?? ''}`;
    const aggregation = this.#aggregator.record({ regarding: identity, type, reason, action, note }, now);
    const { series } = aggregation;
    const namespace = regarding.namespace ?? 'default';
    if (aggregation.kind === 'new') {
      const event = this.#build({ regarding, type, reason, action, note, now, related: details.related });
      this.#write(series, namespace, () => this.#create(series, event));
    } else if (!this.#writing.has(series)) {
      this.#write(series, namespace, () => this.#catchUp(series, namespace));
    }
  }

  /** flush resolves when every write started so far has finished (tests, and shutdown). */
  async flush(): Promise<void> {
    while (this.#writing.size > 0) await Promise.all(this.#writing.values());
  }

  // One write at a time per series. When it succeeds and repeats arrived meanwhile, one more patch
  // carries them all; after a failure the series waits for its next occurrence.
  #write(series: Series, namespace: string, write: () => Promise<void>): void {
    const done = write()
      .then(() => true, (error: unknown) => {
        this.#logger.warn({ err: errorMessage(error) }, 'could not record event');
        return false;
      })
      .then((ok) => {
        this.#writing.delete(series);
        if (ok && series.name !== undefined && series.written < series.count) {
          this.#write(series, namespace, () => this.#catchUp(series, namespace));
        }
      });
    this.#writing.set(series, done);
  }

  async #create(series: Series, event: EventsV1Event): Promise<void> {
    try {
      await this.#sink.create(event);
    } catch (error) {
      // Let the next occurrence try a fresh Event rather than patch one that does not exist.
      series.lastSeen = -Infinity;
      throw error;
    }
    series.name = event.metadata?.name;
    series.written = 1;
  }

  async #catchUp(series: Series, namespace: string): Promise<void> {
    if (series.name === undefined || series.written >= series.count) return;
    const count = series.count;
    try {
      await this.#sink.patchSeries(namespace, series.name, count, series.lastSeen);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // The Event expired (the API server keeps them an hour); the next occurrence starts a new one.
      series.name = undefined;
      series.lastSeen = -Infinity;
      return;
    }
    series.written = count;
  }

  #build(input: { regarding: V1ObjectReference; type: EventType; reason: string; action: string; note: string; now: number; related: KubernetesObject | undefined }): EventsV1Event {
    const namespace = input.regarding.namespace ?? 'default';
    return {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: eventName(input.regarding.name ?? 'unnamed', input.now, this.#sequence++), namespace },
      eventTime: new V1MicroTime(input.now),
      reportingController: this.#options.reportingController,
      reportingInstance: this.#options.reportingInstance,
      action: input.action,
      reason: input.reason,
      note: input.note,
      type: input.type,
      regarding: input.regarding,
      ...(input.related === undefined ? {} : { related: referenceTo(input.related) }),
    };
  }
}

/** referenceTo is the ObjectReference an Event uses to point at `object`. */
export function referenceTo(object: KubernetesObject): V1ObjectReference {
  const metadata = object.metadata ?? {};
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: metadata.name,
    namespace: metadata.namespace,
    uid: metadata.uid,
    resourceVersion: metadata.resourceVersion,
  };
}
