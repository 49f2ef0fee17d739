/**
 * An informer: a local, read-only copy of one kind of object (optionally one namespace and a label
 * selector), kept current by a Watcher, that tells handlers what changed. Objects pass through
 * `transform` before they are stored, so the cache holds only what the controller reads.
 *
 * Reads see this process's own writes at once (see Store): `recordWrite` is called by the cached
 * client for every object a write returns.
 */

import type { KubeClient } from '../client/kube-client.ts';
import type { ListSchema } from '../client/protobuf/builtin-messages.ts';
import type { ResourceType } from '../client/resource-type.ts';
import { keyOf } from '../client/resource-type.ts';
import { type Clock, realClock } from '../clock.ts';
import type { Logger } from '../log/logger.ts';
import { Store } from './store.ts';
import { Watcher } from './watcher.ts';

/** The least every cached object has. */
export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion?: string;
    generation?: number;
    ownerReferences?: OwnerReference[];
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    managedFields?: ManagedFieldsEntry[];
  };
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
}

export interface InformerHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T> {
  client: KubeClient;
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
  /** Shrinks each object before it is cached; must keep metadata.name/namespace/uid/resourceVersion. */
  transform?: (obj: T) => T;
  log: Logger;
  clock?: Clock;
  /** Server-side timeout of each watch; randomised per watch so watches do not end together. */
  watchTimeoutSeconds?: () => number;
  /** See Watcher: a watch silent for this long is reopened (default 90 s). */
  idleTimeoutMs?: number;
  /** Backoff of a failing list/watch (defaults 800 ms doubling to 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Lists ask for protobuf and decode what this names (see ListTransformOptions.protobuf). */
  protobuf?: ListSchema;
  /** Called when `transform` throws for an object (which is then not cached). */
  onTransformError?: (type: ResourceType) => void;
}

export class Informer<T extends KubeObject> {
  readonly type: ResourceType;
  readonly labelSelector: string | undefined;
  readonly #options: InformerOptions<T>;
  readonly #store: Store<T>;
  readonly #watcher: Watcher<T, T>;
  readonly #handlers: InformerHandler<T>[] = [];
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #transform: (obj: T) => T;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  /** Since when the informer has been failing to reach the server (monotonic ms), if it is. */
  #failingSince: number | undefined;
  #lastError: unknown;

  constructor(options: InformerOptions<T>) {
    this.type = options.type;
    this.labelSelector = options.labelSelector;
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#store = new Store<T>({ clock: this.#clock });
    this.#transform = options.transform ?? ((o: T) => o);
    this.#log = options.log.child({ informer: options.type.kind, labelSelector: options.labelSelector });
    this.#watcher = new Watcher<T, T>({
      client: options.client,
      type: options.type,
      namespace: options.namespace,
      labelSelector: options.labelSelector,
      transform: this.#transform,
      log: this.#log,
      clock: this.#clock,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      idleTimeoutMs: options.idleTimeoutMs,
      initialBackoffMs: options.initialBackoffMs,
      maxBackoffMs: options.maxBackoffMs,
      protobuf: options.protobuf,
    });
  }

  /** Registers a handler. Handlers added after start see only later changes (they can read the store). */
  addHandler(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  /** The newest known state of `namespace/name` (our own unseen write, else the watched copy). */
  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  /** Every cached object. The array is new; the objects are the cache's own: do not modify them. */
  list(): T[] {
    return this.#store.list();
  }

  get size(): number {
    return this.#store.size;
  }

  /**
   * Records an object one of our writes returned, so reads see it before the watch does. It goes
   * through the same transform as watched objects.
   */
  recordWrite(raw: T): void {
    try {
      this.#store.recordWrite(this.#transform(raw));
    } catch {
      // the watch will bring it (and report the transform's failure)
    }
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** Milliseconds the informer has been unable to reach the server, or 0 when it is fine. */
  get failingForMs(): number {
    return this.#failingSince === undefined ? 0 : this.#clock.now() - this.#failingSince;
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  get stats() {
    return { size: this.#store.size, unseenWrites: this.#store.unseenWrites, ...this.#watcher.stats };
  }

  /** Resolves once the first list has been stored (or when `signal` aborts). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Lists and watches until `signal` aborts. Never rejects. */
  run(signal: AbortSignal): Promise<void> {
    return this.#watcher.run(
      {
        listed: (items) => this.#listed(items),
        applied: (obj) => {
          const before = this.#store.applied(obj);
          if (before) this.#emit('update', obj, before);
          else this.#emit('add', obj);
        },
        deleted: (obj) => this.#emit('delete', this.#store.deleted(keyOf(obj.metadata)) ?? obj),
        healthy: () => {
          if (this.#failingSince !== undefined) {
            this.#log.info({ downForMs: Math.round(this.failingForMs) }, 'reconnected to the API server');
          }
          this.#failingSince = undefined;
        },
        failed: (err, retryInMs) => {
          this.#failingSince ??= this.#clock.now();
          this.#lastError = err;
          this.#log.warn(
            { err: err instanceof Error ? err.message : String(err), retryInMs: Math.round(retryInMs) },
            'list/watch failed; retrying',
          );
        },
        transformFailed: (raw, err) => {
          const meta = (raw as { metadata?: { namespace?: string; name?: string } }).metadata;
          this.#log.error(
            { err, object: meta && keyOf({ namespace: meta.namespace, name: meta.name ?? '?' }) },
            'transform failed; object left out of the cache',
          );
          this.#options.onTransformError?.(this.type);
        },
      },
      signal,
    );
  }

  /** Replaces the store with a fresh list and tells handlers what differs from before. */
  #listed(items: T[]): void {
    const old = this.#store.replace(items);
    for (const obj of items) {
      const before = old.get(keyOf(obj.metadata));
      if (!before) this.#emit('add', obj);
      else if (before.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.#emit('update', obj, before);
    }
    const fresh = new Set(items.map((o) => keyOf(o.metadata)));
    for (const [key, obj] of old) if (!fresh.has(key)) this.#emit('delete', obj);
    if (!this.#synced) {
      this.#synced = true;
      this.#log.info({ objects: items.length }, 'cache synced');
      for (const resolve of this.#syncWaiters) resolve();
      this.#syncWaiters = [];
    }
  }

  #emit(what: 'add' | 'update' | 'delete', obj: T, before?: T): void {
    for (const handler of this.#handlers) {
      try {
        if (what === 'add') handler.onAdd?.(obj);
        else if (what === 'update') handler.onUpdate?.(before as T, obj);
        else handler.onDelete?.(obj);
      } catch (err) {
        // A faulty handler must not stop the informer or hide the event from the others.
        this.#log.error({ err, event: what, key: keyOf(obj.metadata) }, 'event handler threw');
      }
    }
  }
}
