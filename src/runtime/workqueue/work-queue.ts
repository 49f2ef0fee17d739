/**
 * The controller's work queue, with client-go's guarantees:
 *  - a key waits in the queue at most once, however often it is added (adds coalesce);
 *  - a key being processed is never handed to a second worker; if it is added meanwhile, it is
 *    queued again when the first worker calls done(), so the newest state is always reconciled;
 *  - addAfter() delays a key (requeue-after); a key already waiting keeps the earlier time;
 *  - addRateLimited() delays a failed key by its rate limiter (per-key exponential backoff).
 *
 * Two priorities, as controller-runtime's priority queue has: a key added with `low` priority is
 * handed out only when no normal key is ready (adding it again at normal priority promotes it).
 * With `lowPriorityQuietMs`, low keys also wait until no normal key has arrived for that long: a
 * burst of changes is worked off before the reports about it. A low key that has waited
 * `lowPriorityMaxWaitMs` goes next whatever else is ready, so no stream of changes starves it.
 * Within a priority, FIFO order. get() waits for a key; shutDown() wakes every waiting worker with
 * `undefined`.
 */
import { MinHeap } from './min-heap.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiters.ts';

/** What the queue reports, for the workqueue_* metrics. */
export interface QueueObserver {
  depth?(depth: number): void;
  add?(): void;
  /** Seconds a key waited in the queue before a worker took it. */
  queueLatency?(seconds: number): void;
  /** Seconds a worker spent on a key. */
  workDuration?(seconds: number): void;
  /** A key was added with a delay (rate-limited retry or requeue-after). */
  retry?(): void;
}

export type Priority = 'normal' | 'low';

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  observer?: QueueObserver;
  now?: () => number;
  /** Low-priority keys wait until no normal key has been added or taken for this long (default 0). */
  lowPriorityQuietMs?: number;
  /** ... but never longer than this (default 10 s), so a steady stream cannot starve them. */
  lowPriorityMaxWaitMs?: number;
}

export class WorkQueue {
  readonly #rateLimiter: RateLimiter;
  readonly #observer: QueueObserver;
  readonly #now: () => number;

  /** Keys ready for a worker, one ordered set per priority (a Set keeps insertion order). */
  readonly #ready = new Set<string>();
  readonly #readyLow = new Set<string>();
  /** Keys that need processing: queued, or re-added while being processed. */
  readonly #dirty = new Set<string>();
  /** The dirty keys whose pending run is low priority. */
  readonly #low = new Set<string>();
  readonly #processing = new Map<string, number>();
  readonly #addedAt = new Map<string, number>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];

  /** Delayed keys: the earliest time each is due, and a heap of (due, key) with lazy deletion. */
  readonly #waitingUntil = new Map<string, number>();
  readonly #delayed = new MinHeap<{ due: number; key: string }>((a, b) => a.due - b.due);
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Number.POSITIVE_INFINITY;

  #shuttingDown = false;
  #drainWaiters: (() => void)[] = [];

  readonly #quietMs: number;
  readonly #maxLowWaitMs: number;
  /** When a normal key was last added or taken. */
  #lastUrgentAt = Number.NEGATIVE_INFINITY;
  #lowTimer: NodeJS.Timeout | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.#rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter();
    this.#observer = options.observer ?? {};
    this.#now = options.now ?? (() => performance.now());
    this.#quietMs = options.lowPriorityQuietMs ?? 0;
    this.#maxLowWaitMs = options.lowPriorityMaxWaitMs ?? 10_000;
  }

  /** Keys ready now (not counting delayed ones or those being processed). */
  get length(): number {
    return this.#ready.size + this.#readyLow.size;
  }

  /** Keys ready now at normal priority. */
  get urgent(): number {
    return this.#ready.size;
  }

  get processing(): number {
    return this.#processing.size;
  }

  get delayed(): number {
    return this.#waitingUntil.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: string, priority: Priority = 'normal'): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) {
      // Already pending; a normal add lifts a low-priority key to the normal lane.
      if (priority === 'normal' && this.#low.delete(key) && this.#readyLow.delete(key)) this.#ready.add(key);
      return; // Counted only when new, as client-go counts workqueue_adds_total.
    }
    this.#observer.add?.();
    this.#dirty.add(key);
    if (priority === 'low') this.#low.add(key);
    else this.#lastUrgentAt = this.#now();
    this.#addedAt.set(key, this.#now());
    if (this.#processing.has(key)) return; // queued again by done()
    this.#push(key);
  }

  /** Adds `key` after `delayMs`; if it is already waiting, the earlier time wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    this.#observer.retry?.();
    const due = this.#now() + delayMs;
    const current = this.#waitingUntil.get(key);
    if (current !== undefined && current <= due) return;
    this.#waitingUntil.set(key, due);
    this.#delayed.push({ due, key });
    this.#schedule();
  }

  /** Adds `key` after its rate limiter's delay: the retry of a failure. */
  addRateLimited(key: string): void {
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Clears the failure history of `key` (it succeeded). */
  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /**
   * The next key to process, waiting if there is none; `undefined` once the queue shuts down
   * (keys still queued then are not handed out: a stopping controller takes no new work).
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    if (this.#handOutable()) return Promise.resolve(this.#take());
    this.#armLowTimer();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` finished; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#observer.workDuration?.((this.#now() - started) / 1000);
    if (this.#dirty.has(key)) this.#push(key);
    if (this.#processing.size === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /** Seconds of work in progress, and the longest-running key's seconds, for the metrics. */
  inFlight(): { unfinishedSeconds: number; longestSeconds: number } {
    const now = this.#now();
    let total = 0;
    let longest = 0;
    for (const started of this.#processing.values()) {
      const s = (now - started) / 1000;
      total += s;
      longest = Math.max(longest, s);
    }
    return { unfinishedSeconds: total, longestSeconds: longest };
  }

  /** Stops handing out keys: waiting workers get `undefined`; delayed keys are dropped. */
  shutDown(): void {
    this.#shuttingDown = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#lowTimer);
    this.#timer = undefined;
    this.#lowTimer = undefined;
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
  }

  /** shutDown(), then resolves once every key being processed is done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
    });
  }

  #push(key: string): void {
    (this.#low.has(key) ? this.#readyLow : this.#ready).add(key);
    this.#wake();
    this.#observer.depth?.(this.length);
  }

  /** Hands out keys to waiting workers while there are any they may take. */
  #wake(): void {
    while (this.#waiters.length > 0 && this.#handOutable())
      (this.#waiters.shift() as (k: string) => void)(this.#take());
    if (this.#waiters.length > 0) this.#armLowTimer();
  }

  /** A normal key is ready, or a low one may go: quiet long enough, or waited long enough. */
  #handOutable(): boolean {
    if (this.#ready.size > 0) return true;
    return this.#readyLow.size > 0 && this.#lowDueAt() <= this.#now();
  }

  /** When the first low-priority key may be handed out. */
  #lowDueAt(): number {
    return Math.min(this.#lastUrgentAt + this.#quietMs, this.#lowWaitedSince() + this.#maxLowWaitMs);
  }

  /** Since when the first low-priority key has been waiting. */
  #lowWaitedSince(): number {
    const first = this.#readyLow.values().next().value as string;
    return this.#addedAt.get(first) ?? this.#now();
  }

  /** Wakes waiting workers when the first low-priority key becomes due. */
  #armLowTimer(): void {
    if (this.#lowTimer || this.#readyLow.size === 0 || this.#shuttingDown) return;
    this.#lowTimer = setTimeout(
      () => {
        this.#lowTimer = undefined;
        this.#wake();
      },
      Math.max(1, this.#lowDueAt() - this.#now()),
    );
  }

  #take(): string {
    const overdue = this.#readyLow.size > 0 && this.#lowWaitedSince() + this.#maxLowWaitMs <= this.#now();
    const lane = this.#ready.size > 0 && !overdue ? this.#ready : this.#readyLow;
    if (lane === this.#ready) this.#lastUrgentAt = this.#now();
    const key = lane.values().next().value as string;
    lane.delete(key);
    this.#dirty.delete(key);
    this.#low.delete(key);
    const now = this.#now();
    this.#processing.set(key, now);
    const added = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (added !== undefined) this.#observer.queueLatency?.((now - added) / 1000);
    this.#observer.depth?.(this.length);
    return key;
  }

  /** Arms one timer for the earliest delayed key. */
  #schedule(): void {
    const next = this.#delayed.peek();
    if (!next || this.#shuttingDown) return;
    if (this.#timer && next.due >= this.#timerDue) return;
    clearTimeout(this.#timer);
    this.#timerDue = next.due;
    // setTimeout overflows past 2^31-1 ms (24.8 days) to 1 ms; wake up early instead and re-arm.
    this.#timer = setTimeout(() => this.#fire(), Math.min(2 ** 31 - 1, Math.max(0, next.due - this.#now())));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    const now = this.#now();
    for (let next = this.#delayed.peek(); next && next.due <= now; next = this.#delayed.peek()) {
      this.#delayed.pop();
      // Skip stale heap entries: the key was re-scheduled earlier, or already released.
      if (this.#waitingUntil.get(next.key) !== next.due) continue;
      this.#waitingUntil.delete(next.key);
      this.add(next.key);
    }
    this.#schedule();
  }
}
