/** Closable is a connection the pool can end. */
export interface Closable {
  close(): Promise<void>;
}

/** PoolOptions bound the pool: how many connections stay open, how long an unused one lives, and the clock. */
export interface PoolOptions {
  readonly maxOpen: number;
  readonly idleMs: number;
  readonly now: () => number;
}

interface Entry<C> {
  readonly connection: Promise<C>;
  lastUsedMs: number;
}

/**
 * ConnectionPool keeps one connection per store, shared by the endpoints that name it. It is
 * bounded three ways: at most `maxOpen` are open (opening one more closes the least recently used),
 * one unused for `idleMs` is closed, and one is closed as soon as no endpoint names its store (an
 * endpoint that is deleted, drops its budgets or names another store is forgotten). A connection
 * closed for being idle or least recently used is opened again by the next read that needs it.
 */
export class ConnectionPool<C extends Closable> {
  readonly #options: PoolOptions;
  /** #open in least recently used order: a Map iterates in insertion order and every use re-inserts. */
  readonly #open = new Map<string, Entry<C>>();
  /** #names maps each endpoint (its `namespace/name`) to the store it read last. */
  readonly #names = new Map<string, string>();
  readonly #closing = new Set<Promise<void>>();

  constructor(options: PoolOptions) {
    if (!(options.maxOpen >= 1)) throw new Error('maxOpen must be at least 1');
    this.#options = options;
  }

  /** acquire returns the connection to `store` for endpoint `user`, opening it with `open` when none is. */
  acquire(user: string, store: string, open: () => Promise<C>): Promise<C> {
    const previous = this.#names.get(user);
    this.#names.set(user, store);
    if (previous !== undefined && previous !== store) this.#closeIfUnnamed(previous);
    this.prune(store);
    const now = this.#options.now();
    const existing = this.#open.get(store);
    if (existing !== undefined) {
      this.#open.delete(store);
      existing.lastUsedMs = now;
      this.#open.set(store, existing);
      return existing.connection;
    }
    for (const [oldest] of this.#open) {
      if (this.#open.size < this.#options.maxOpen) break;
      this.#close(oldest);
    }
    const connection = open();
    const entry: Entry<C> = { connection, lastUsedMs: now };
    this.#open.set(store, entry);
    // A connection that failed to open is not kept: the next read tries again.
    connection.catch(() => {
      if (this.#open.get(store) === entry) this.#open.delete(store);
    });
    return connection;
  }

  /** forget drops endpoint `user`; its store's connection closes when no other endpoint names it. */
  forget(user: string): void {
    const store = this.#names.get(user);
    if (store === undefined) return;
    this.#names.delete(user);
    this.#closeIfUnnamed(store);
  }

  /** prune closes every connection unused for `idleMs`, except the one to `keep`. */
  prune(keep?: string): void {
    const cutoff = this.#options.now() - this.#options.idleMs;
    for (const [store, entry] of this.#open) {
      if (store !== keep && entry.lastUsedMs <= cutoff) this.#close(store);
    }
  }

  /** openStores lists the stores with an open (or opening) connection, least recently used first. */
  openStores(): string[] {
    return [...this.#open.keys()];
  }

  /** close ends every connection and waits until each has closed. */
  async close(): Promise<void> {
    for (const store of [...this.#open.keys()]) this.#close(store);
    this.#names.clear();
    await Promise.all([...this.#closing]);
  }

  #closeIfUnnamed(store: string): void {
    for (const named of this.#names.values()) if (named === store) return;
    this.#close(store);
  }

  #close(store: string): void {
    const entry = this.#open.get(store);
    if (entry === undefined) return;
    this.#open.delete(store);
    const closing = entry.connection.then((c) => c.close(), () => undefined).catch(() => undefined);
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }
}
