/**
 * A small bounded cache of asynchronous results with a time to live, for the metrics endpoint's
 * review results: concurrent lookups of one key share one computation (a burst of scrapes with one
 * token costs one review), a failed computation is not kept (the next lookup tries again), and past
 * `maxEntries` the least recently used entry goes, so a stream of distinct tokens cannot grow memory.
 */

interface Entry<V> {
  value: Promise<V>;
  /** When the entry stops being used; Infinity while its computation runs. */
  expiresAt: number;
}

export interface ExpiringCacheOptions {
  maxEntries: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

export class ExpiringCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: ExpiringCacheOptions) {
    if (!(options.maxEntries >= 1)) throw new Error('maxEntries must be at least 1');
    this.#max = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached value of `key`, or the result of `compute()`, kept for `ttlMs(value)` milliseconds
   * from when it resolved (0 keeps nothing). `computed` tells whether this call ran `compute`.
   */
  async get(
    key: string,
    compute: () => Promise<V>,
    ttlMs: (value: V) => number,
  ): Promise<{ value: V; computed: boolean }> {
    const hit = this.#entries.get(key);
    if (hit && hit.expiresAt > this.#now()) {
      // Most recently used goes last, so eviction takes the least recently used first.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return { value: await hit.value, computed: false };
    }
    if (hit) this.#entries.delete(key);
    const entry: Entry<V> = { value: compute(), expiresAt: Number.POSITIVE_INFINITY };
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    try {
      const value = await entry.value;
      entry.expiresAt = this.#now() + ttlMs(value);
      if (this.#entries.get(key) === entry && entry.expiresAt <= this.#now()) this.#entries.delete(key);
      return { value, computed: true };
    } catch (err) {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      throw err;
    }
  }
}
