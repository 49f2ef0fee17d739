/**
 * A controller: a work queue of object keys, and a pool of workers that call the reconciler for each
 * key, as controller-runtime's controller does. Handlers (see handlers.ts) feed the queue.
 *
 * The reconciler gets only namespace/name, never the event: it reads the current state from caches and
 * makes the world match the spec, so missed, repeated or reordered events are harmless. It returns
 * "done", "look again after T", or throws (retried with per-key exponential backoff).
 *
 * Failures are told apart with `classify`: a key that failed because the API server was down is
 * retried soon after it is back (paced by the overall limit, see `retryAfterOutage`), while a key a
 * policy refuses keeps its own backoff, however often other requests succeed.
 */
import { randomUUID } from 'node:crypto';
import type { CachedClient } from '../cache/cached-client.ts';
import { classify } from '../client/errors.ts';
import { keyOf, parseKey } from '../client/resource-type.ts';
import { TokenBucket } from '../client/token-bucket.ts';
import { type Clock, realClock } from '../clock.ts';
import type { EventRecorder } from '../events/recorder.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { defaultControllerRateLimiter, type RateLimiter } from '../workqueue/rate-limiters.ts';
import { type Priority, WorkQueue } from '../workqueue/work-queue.ts';

export interface Request {
  namespace: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this many milliseconds (the key's failure history is reset). */
  requeueAfterMs?: number;
  /** Reconcile again soon, with backoff, without counting it as an error. */
  requeue?: boolean;
}

export interface ReconcileContext {
  /** A logger carrying the controller, the object and this reconcile's id. */
  log: Logger;
  /** Aborted when the manager stops; long operations should give up. */
  signal: AbortSignal;
  /** Reads from the caches, writes to the API server, sees its own writes. */
  client: CachedClient;
  recorder: EventRecorder;
}

export interface Reconciler {
  reconcile(request: Request, context: ReconcileContext): Promise<Result | undefined>;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  client: CachedClient;
  recorder: EventRecorder;
  /** Workers reconciling different keys at once (default 5). One key never runs on two workers. */
  maxConcurrentReconciles?: number;
  log: Logger;
  metrics: Metrics;
  rateLimiter?: RateLimiter;
  /** See WorkQueueOptions: how long low-priority work waits for a quiet spell (default 0). */
  lowPriorityQuietMs?: number;
  clock?: Clock;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly maxConcurrentReconciles: number;
  readonly #o: ControllerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** Keys whose last failure was the API server's (see retryAfterOutage). */
  readonly #failedInOutage = new Set<string>();
  /** Paces the retries released after an outage, as the queue's overall limit would. */
  readonly #releasePace: TokenBucket;
  #active = 0;
  #workers: Promise<void>[] = [];
  #started = false;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.maxConcurrentReconciles = options.maxConcurrentReconciles ?? 5;
    this.#log = options.log.child({ controller: options.name });
    this.#releasePace = new TokenBucket(50, 200, () => this.#clock.now(), this.#clock);
    this.queue = new WorkQueue({
      rateLimiter: options.rateLimiter ?? defaultControllerRateLimiter(),
      observer: options.metrics.queueObserver(options.name),
      lowPriorityQuietMs: options.lowPriorityQuietMs,
      now: () => this.#clock.now(),
    });
    const metrics = options.metrics;
    metrics.trackQueue(options.name, this.queue);
    const labels = { controller: options.name };
    metrics.maxConcurrentReconciles.set(labels, this.maxConcurrentReconciles);
    metrics.activeWorkers.set(labels, 0);
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      metrics.reconcileTotal.inc({ ...labels, result }, 0);
    }
    metrics.reconcileErrors.inc(labels, 0);
    metrics.reconcilePanics.inc(labels, 0);
  }

  get activeWorkers(): number {
    return this.#active;
  }

  /** Queues a reconcile of `namespace/name`. */
  enqueue(request: Request, priority: Priority = 'normal'): void {
    this.queue.add(keyOf(request), priority);
  }

  /**
   * The API server is back after an outage (its /readyz answers 200 again): keys that failed only
   * because of it are retried now instead of waiting out the backoff the outage made them build up,
   * paced at 50 a second after a burst of 200, so a server that flaps is not met by every key at once.
   * Keys that failed for their own reasons (a webhook, a policy, a conflict) keep their backoff.
   */
  retryAfterOutage(): void {
    if (this.#failedInOutage.size === 0) return;
    const keys = [...this.#failedInOutage];
    this.#failedInOutage.clear();
    for (const key of keys) {
      this.queue.forget(key);
      // At least 1 ms: addAfter(key, 0) adds the key now but leaves the backoff it was waiting out
      // in place, so it would come back a second time when that ends; any delay replaces it (the
      // earlier time wins).
      this.queue.addAfter(key, Math.max(1, this.#releasePace.reserve()));
    }
    this.#log.info({ keys: keys.length }, 'API server reachable again: retrying what failed meanwhile');
  }

  /** Starts the workers. Call once the caches the reconciler reads have synced. */
  start(signal: AbortSignal): void {
    if (this.#started) throw new Error(`controller ${this.name} already started`);
    this.#started = true;
    this.#log.info({ workers: this.maxConcurrentReconciles }, 'starting workers');
    for (let i = 0; i < this.maxConcurrentReconciles; i++) this.#workers.push(this.#work(signal));
  }

  get started(): boolean {
    return this.#started;
  }

  /**
   * Stops taking new keys and waits for running reconciles to finish, at most `deadlineMs`.
   * Resolves true when all finished in time.
   */
  async stop(deadlineMs: number): Promise<boolean> {
    this.queue.shutDown();
    let timer: { cancel(): void } | undefined;
    const finished = await Promise.race([
      Promise.all(this.#workers).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = this.#clock.setTimer(() => resolve(false), deadlineMs);
      }),
    ]);
    timer?.cancel();
    this.#log.info({ finishedInTime: finished, stillRunning: this.#active }, 'workers stopped');
    return finished;
  }

  async #work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.#reconcileOne(key, signal);
    }
  }

  async #reconcileOne(key: string, signal: AbortSignal): Promise<void> {
    const labels = { controller: this.name };
    const metrics = this.#o.metrics;
    const request = parseKey(key) as Request;
    const log = this.#log.child({
      namespace: request.namespace,
      name: request.name,
      reconcileID: randomUUID(),
    });
    this.#active++;
    metrics.activeWorkers.set(labels, this.#active);
    const started = this.#clock.now();
    const startedAt = Date.now();
    let outcome = 'success';
    try {
      const result = await this.#o.reconciler.reconcile(request, {
        log,
        signal,
        client: this.#o.client,
        recorder: this.#o.recorder,
      });
      this.#failedInOutage.delete(key);
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfterMs);
        outcome = 'requeue_after';
      } else if (result?.requeue) {
        this.queue.addRateLimited(key);
        outcome = 'requeue';
      } else {
        this.queue.forget(key);
      }
    } catch (err) {
      outcome = 'error';
      const failure = classify(err);
      metrics.reconcileErrors.inc(labels);
      if (failure.kind === 'bug') metrics.reconcilePanics.inc(labels);
      if (failure.kind === 'fenced') {
        // Not ours to retry: this replica is about to exit, and the new leader reconciles it.
        log.warn({ err }, 'reconcile stopped: not the leader');
      } else {
        if (failure.outage) this.#failedInOutage.add(key);
        else this.#failedInOutage.delete(key);
        this.queue.addRateLimited(key);
        log.error({ err, kind: failure.kind, retries: this.queue.numRequeues(key) }, 'reconciler error');
      }
    } finally {
      const durationMs = this.#clock.now() - started;
      metrics.reconcileTotal.inc({ ...labels, result: outcome });
      metrics.reconcileTime.observe(labels, durationMs / 1000);
      log.debug(
        { startedAt, durationMs: Math.round(durationMs * 1000) / 1000, result: outcome },
        'reconciled',
      );
      this.queue.done(key);
      this.#active--;
      metrics.activeWorkers.set(labels, this.#active);
    }
  }
}
