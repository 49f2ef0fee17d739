/**
 * A controller: a work queue of object keys fed by informer events, and a pool of workers that call
 * the reconciler for each key, as controller-runtime's controller does.
 *
 * The reconciler gets only namespace/name, never the event: it reads the current state from caches and
 * makes the world match the spec, so missed, repeated or reordered events are harmless. It returns
 * "done", "look again after T", or throws (retried with per-key exponential backoff).
 */
import { randomUUID } from 'node:crypto';
import type { InformerHandler, KubeObject } from '../cache/informer.ts';
import { isApiError } from '../client/errors.ts';
import { groupOf, keyOf, parseKey } from '../client/resource-type.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RateLimiter } from '../workqueue/rate-limiters.ts';
import { WorkQueue } from '../workqueue/work-queue.ts';

function generationOf(obj: KubeObject): number | undefined {
  return (obj.metadata as { generation?: number }).generation;
}

export interface Request {
  namespace: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this many milliseconds (the key's failure history is reset). */
  requeueAfterMs?: number;
  /**
   * Reconcile again once no urgent work is waiting (low priority): for what can wait behind other
   * objects' changes, such as reporting status after this reconcile changed the world.
   */
  deferred?: boolean;
  /** Reconcile again soon, with backoff, without counting it as an error. */
  requeue?: boolean;
}

export interface ReconcileContext {
  /** A logger carrying the controller, the object and this reconcile's id. */
  log: Logger;
  /** Aborted when the manager stops; long operations should give up. */
  signal: AbortSignal;
}

export interface Reconciler {
  reconcile(request: Request, context: ReconcileContext): Promise<Result | undefined>;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  /** Workers reconciling different keys at once (default 5). One key never runs on two workers. */
  maxConcurrentReconciles?: number;
  log: Logger;
  metrics: Metrics;
  rateLimiter?: RateLimiter;
  /** See WorkQueueOptions: how long low-priority work waits for a quiet spell (default 0). */
  lowPriorityQuietMs?: number;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly maxConcurrentReconciles: number;
  readonly #reconciler: Reconciler;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  #active = 0;
  #workers: Promise<void>[] = [];
  #started = false;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#reconciler = options.reconciler;
    this.maxConcurrentReconciles = options.maxConcurrentReconciles ?? 5;
    this.#log = options.log.child({ controller: options.name });
    this.#metrics = options.metrics;
    this.queue = new WorkQueue({
      rateLimiter: options.rateLimiter,
      observer: options.metrics.queueObserver(options.name),
      lowPriorityQuietMs: options.lowPriorityQuietMs,
    });
    options.metrics.trackQueue(options.name, this.queue);
    const labels = { controller: options.name };
    this.#metrics.maxConcurrentReconciles.set(labels, this.maxConcurrentReconciles);
    this.#metrics.activeWorkers.set(labels, 0);
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      this.#metrics.reconcileTotal.inc({ ...labels, result }, 0);
    }
    this.#metrics.reconcileErrors.inc(labels, 0);
  }

  get activeWorkers(): number {
    return this.#active;
  }

  /** Queues a reconcile of `namespace/name`. */
  enqueue(request: Request): void {
    this.queue.add(keyOf(request));
  }

  /** Informer handler for the primary kind (For): every event enqueues the object itself. */
  forObjects<T extends KubeObject>(): InformerHandler<T> {
    const enqueue = (obj: T) => this.queue.add(keyOf(obj.metadata));
    return {
      onAdd: enqueue,
      onUpdate: (oldObj, newObj) => {
        // A relist re-delivers unchanged objects; they need no reconcile.
        if (oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion) return;
        // Same generation: only status or metadata changed, mostly the echo of our own status write.
        // It is looked at, but at low priority, behind changes to what users asked for.
        const sameSpec = generationOf(oldObj) !== undefined && generationOf(oldObj) === generationOf(newObj);
        this.queue.add(keyOf(newObj.metadata), sameSpec ? 'low' : 'normal');
      },
      onDelete: enqueue,
    };
  }

  /**
   * Informer handler for an owned kind (Owns): every event enqueues the object's controller owner if
   * it is of `ownerApiVersion`'s group and `ownerKind`, as controller-runtime's EnqueueRequestForOwner
   * with OnlyControllerOwner. On update, both the old and the new owner are enqueued.
   * At low priority: what owned objects report (mostly the echo of our own writes, or pods turning
   * Ready) waits behind changes users asked for.
   */
  ownedBy<T extends KubeObject>(ownerApiVersion: string, ownerKind: string): InformerHandler<T> {
    const group = groupOf(ownerApiVersion);
    const enqueueOwner = (obj: T) => {
      const owner = obj.metadata.ownerReferences?.find(
        (ref) => ref.controller && ref.kind === ownerKind && groupOf(ref.apiVersion) === group,
      );
      if (owner && obj.metadata.namespace) {
        this.queue.add(keyOf({ namespace: obj.metadata.namespace, name: owner.name }), 'low');
      }
    };
    return {
      onAdd: enqueueOwner,
      onUpdate: (oldObj, newObj) => {
        if (oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion) return;
        enqueueOwner(oldObj);
        enqueueOwner(newObj);
      },
      onDelete: enqueueOwner,
    };
  }

  /** Retries at once every key waiting out a backoff (see WorkQueue.releaseDelayed). */
  retryNow(): void {
    const released = this.queue.releaseDelayed();
    if (released > 0) this.#log.info({ keys: released }, 'API server reachable again: retrying now');
  }

  /** Starts the workers. Call once the caches the reconciler reads have synced. */
  start(signal: AbortSignal): void {
    if (this.#started) throw new Error(`controller ${this.name} already started`);
    this.#started = true;
    this.#log.info({ workers: this.maxConcurrentReconciles }, 'starting workers');
    for (let i = 0; i < this.maxConcurrentReconciles; i++) this.#workers.push(this.#work(signal));
  }

  /**
   * Stops taking new keys and waits for running reconciles to finish, at most `deadlineMs`.
   * Resolves true when all finished in time.
   */
  async stop(deadlineMs: number): Promise<boolean> {
    this.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.#workers).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
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
    const request = parseKey(key) as Request;
    const log = this.#log.child({
      namespace: request.namespace,
      name: request.name,
      reconcileID: randomUUID(),
    });
    this.#active++;
    this.#metrics.activeWorkers.set(labels, this.#active);
    const started = performance.now();
    const startedAt = Date.now();
    let outcome = 'success';
    try {
      const result = await this.#reconciler.reconcile(request, { log, signal });
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfterMs);
        outcome = 'requeue_after';
      } else if (result?.deferred) {
        this.queue.forget(key);
        this.queue.add(key, 'low');
        outcome = 'requeue';
      } else if (result?.requeue) {
        this.queue.addRateLimited(key);
        outcome = 'requeue';
      } else {
        this.queue.forget(key);
      }
    } catch (err) {
      outcome = 'error';
      this.queue.addRateLimited(key);
      this.#metrics.reconcileErrors.inc(labels);
      if (!isApiError(err)) this.#metrics.reconcilePanics.inc(labels);
      log.error({ err, retries: this.queue.numRequeues(key) }, 'reconciler error');
    } finally {
      const durationMs = performance.now() - started;
      this.#metrics.reconcileTotal.inc({ ...labels, result: outcome });
      this.#metrics.reconcileTime.observe(labels, durationMs / 1000);
      log.debug(
        { startedAt, durationMs: Math.round(durationMs * 1000) / 1000, result: outcome },
        'reconciled',
      );
      this.queue.done(key);
      this.#active--;
      this.#metrics.activeWorkers.set(labels, this.#active);
    }
  }
}
