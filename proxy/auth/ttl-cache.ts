/**
 * TtlCache is a bounded least-recently-used map whose entries also expire at a given time. A Map
 * keeps insertion order, so re-inserting on every hit makes its first key the least recently used.
 * Time comes from the caller, so tests need no fake timers.
 */
export class TtlCache<V> {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { value: V; expiresAtMs: number }>();

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('TtlCache maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** get returns the live value for `key` and marks it recently used; an expired entry is dropped. */
  get(key: string, nowMs: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAtMs <= nowMs) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** set stores `value` until `expiresAtMs`, evicting the least recently used entries beyond the bound. */
  set(key: string, value: V, expiresAtMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAtMs });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
    }
  }
}
