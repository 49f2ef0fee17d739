/**
 * An informer: keeps a local, read-only copy of one kind of object (optionally one namespace and a
 * label selector) and tells handlers what changed. It lists, then watches from the list's
 * resourceVersion; a watch that ends is resumed from the last resourceVersion seen (bookmarks keep it
 * fresh); 410 Gone means relist; any other failure is logged and retried with exponential backoff.
 * It never stops on its own: only the signal passed to run() stops it.
 *
 * Objects are passed through `transform` before they are stored, so the cache holds only what the
 * controller reads (managedFields alone are often half of an object).
 */

import { isApiError } from '../client/errors.ts';
import type { KubeClient, WatchEvent } from '../client/kube-client.ts';
import { keyOf, type ResourceType } from '../client/resource-type.ts';
import type { Logger } from '../log/logger.ts';
import { sleep } from '../sleep.ts';

/** The least every cached object has. */
export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion?: string;
    ownerReferences?: OwnerReference[];
    labels?: Record<string, string>;
    deletionTimestamp?: string;
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
  /** First wait after a failure, doubled up to maxBackoffMs (defaults 800 ms and 30 s, as client-go). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side timeout of each watch; randomised per watch so watches do not end together. */
  watchTimeoutSeconds?: () => number;
}

type Phase = 'starting' | 'listing' | 'watching' | 'backing-off' | 'stopped';

export class Informer<T extends KubeObject> {
  readonly type: ResourceType;
  readonly #options: InformerOptions<T>;
  readonly #store = new Map<string, T>();
  readonly #handlers: InformerHandler<T>[] = [];
  readonly #log: Logger;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #phase: Phase = 'starting';
  /** When the informer last failed to reach the server, and since when it has been failing. */
  #failingSince: number | undefined;
  #lastError: unknown;
  #relists = 0;
  #watchRestarts = 0;

  constructor(options: InformerOptions<T>) {
    this.type = options.type;
    this.#options = options;
    this.#log = options.log.child({ informer: options.type.kind, labelSelector: options.labelSelector });
  }

  /** Registers a handler. Handlers added after start see only later changes (they can read the store). */
  addHandler(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  /** Every cached object. The array is new; the objects are the cache's own: do not modify them. */
  list(): T[] {
    return [...this.#store.values()];
  }

  get size(): number {
    return this.#store.size;
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** Milliseconds the informer has been unable to reach the server, or 0 when it is fine. */
  get failingForMs(): number {
    return this.#failingSince === undefined ? 0 : Date.now() - this.#failingSince;
  }

  get stats() {
    return {
      phase: this.#phase,
      size: this.#store.size,
      relists: this.#relists,
      watchRestarts: this.#watchRestarts,
    };
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
  async run(signal: AbortSignal): Promise<void> {
    const { initialBackoffMs = 800, maxBackoffMs = 30_000 } = this.#options;
    let resourceVersion: string | undefined;
    let backoff = initialBackoffMs;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          this.#phase = 'listing';
          resourceVersion = await this.#relist(signal);
        }
        this.#phase = 'watching';
        const from: string = resourceVersion;
        let lastSeen = from;
        await this.#options.client.watch<T>(
          this.type,
          {
            namespace: this.#options.namespace,
            labelSelector: this.#options.labelSelector,
            resourceVersion: from,
            timeoutSeconds: this.#options.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300),
            signal,
          },
          (event) => {
            lastSeen = this.#apply(event) ?? lastSeen;
            resourceVersion = lastSeen;
            this.#healthy();
            backoff = initialBackoffMs;
          },
        );
        // The server ended the watch (its timeout): resume from the last resourceVersion seen.
        this.#healthy();
        this.#watchRestarts++;
        backoff = initialBackoffMs;
      } catch (err) {
        if (signal.aborted) break;
        if (isApiError(err) && err.gone) {
          // Our resourceVersion was compacted away: only a fresh list can tell what changed meanwhile.
          this.#log.info({ resourceVersion }, 'watch expired (410 Gone); relisting');
          resourceVersion = undefined;
          continue;
        }
        this.#failingSince ??= Date.now();
        this.#lastError = err;
        this.#phase = 'backing-off';
        const wait = backoff * (0.5 + Math.random()); // jitter, so many informers do not retry in step
        this.#log.warn({ err: describe(err), retryInMs: Math.round(wait) }, 'list/watch failed; retrying');
        await sleep(wait, signal);
        backoff = Math.min(backoff * 2, maxBackoffMs);
      }
    }
    this.#phase = 'stopped';
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  #healthy(): void {
    if (this.#failingSince !== undefined) {
      this.#log.info({ downForMs: Date.now() - this.#failingSince }, 'reconnected to the API server');
    }
    this.#failingSince = undefined;
  }

  /** Lists everything, replaces the store, and tells handlers what differs from before. */
  async #relist(signal: AbortSignal): Promise<string> {
    const list = await this.#options.client.listTransformed<T, T>(this.type, {
      namespace: this.#options.namespace,
      labelSelector: this.#options.labelSelector,
      signal,
      transform: this.#options.transform ?? ((o: T) => o),
    });
    this.#healthy();
    this.#relists++;
    const fresh = new Map<string, T>();
    for (const item of list.items) fresh.set(keyOf(item.metadata), item);
    const old = new Map(this.#store);
    this.#store.clear();
    for (const [key, obj] of fresh) {
      this.#store.set(key, obj);
      const before = old.get(key);
      if (!before) this.#emit('add', obj);
      else if (before.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.#emit('update', obj, before);
    }
    for (const [key, obj] of old) if (!fresh.has(key)) this.#emit('delete', obj);
    if (!this.#synced) {
      this.#synced = true;
      this.#log.info({ objects: fresh.size }, 'cache synced');
      for (const resolve of this.#syncWaiters) resolve();
      this.#syncWaiters = [];
    }
    return list.resourceVersion;
  }

  /** Applies one watch event to the store; returns its resourceVersion. */
  #apply(event: WatchEvent<T>): string | undefined {
    const rv = event.object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') return rv;
    const obj = (this.#options.transform ?? ((o: T) => o))(event.object);
    const key = keyOf(obj.metadata);
    const before = this.#store.get(key);
    if (event.type === 'DELETED') {
      this.#store.delete(key);
      this.#emit('delete', before ?? obj);
    } else {
      this.#store.set(key, obj);
      if (before) this.#emit('update', obj, before);
      else this.#emit('add', obj);
    }
    return rv;
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

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
