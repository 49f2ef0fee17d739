/**
 * Wires a controller into a manager, as controller-runtime's builder does:
 *
 *   newControllerManagedBy(manager)
 *     .named('elasticweb')
 *     .for(elasticWebs, { transform })
 *     .owns(deployments, { labelSelector, transform })
 *     .complete(reconciler)
 *
 * It creates the caches (one per kind, shared by the manager), keeps in the owned kinds' caches the
 * fields the manager's writes own (what ensureOwnedChild needs to find leftovers), and registers the
 * handlers that turn events into keys: the object itself for the primary kind, the controller owner
 * for owned kinds. Caches are created before handlers are added and before anything starts, so no
 * event can be missed, whatever order the calls come in.
 */
import type { Informer, KubeObject } from '../cache/informer.ts';
import { type ListSchema, withoutManagedFields } from '../client/protobuf/builtin-messages.ts';
import type { ResourceType } from '../client/resource-type.ts';
import { keyOf } from '../client/resource-type.ts';
import type { Manager } from '../manager/manager.ts';
import { keepOwnedFields } from '../reconcile/strays.ts';
import type { RateLimiter } from '../workqueue/rate-limiters.ts';
import { Controller, type Reconciler, type Request } from './controller.ts';
import { enqueueForObject, enqueueForOwner } from './handlers.ts';

export interface WatchOptions<T> {
  /** Cache only objects matching this label selector (e.g. the ones this operator labelled). */
  labelSelector?: string;
  /** Shrinks each object before it is cached (keep metadata.name/namespace/uid/resourceVersion/ownerReferences). */
  transform?: (obj: T) => T;
  /**
   * Owned kinds: the paths where ensureOwnedChild deletes the controller's leftovers (its `prune`).
   * The cache keeps the controller's own managed fields under them, and nothing else of managedFields.
   */
  prune?: readonly string[];
  /**
   * Fill the cache from protobuf lists read with this schema (built-in kinds only): the API server
   * spends about half the CPU on them, and the reader skips what the schema does not name. The
   * transform then sees only those fields; watch events stay JSON.
   */
  protobuf?: ListSchema;
}

export interface ControllerTuning {
  /** Workers reconciling different keys at once (default 5). */
  maxConcurrentReconciles?: number;
  /** Per-key backoff and overall limit of retries (default: client-go's). */
  rateLimiter?: RateLimiter;
  /** Low-priority keys (status echoes, owned objects' news) wait for this long a quiet spell (default 0). */
  lowPriorityQuietMs?: number;
}

interface Watch {
  type: ResourceType;
  options: WatchOptions<KubeObject>;
}

/** Which keys an event on a watched object should reconcile (controller-runtime's EnqueueRequestsFromMapFunc). */
export type MapToRequests<T> = (obj: T, event: 'add' | 'update' | 'delete') => Request[];

export class ControllerBuilder {
  readonly #manager: Manager;
  #name: string | undefined;
  #for: Watch | undefined;
  readonly #owns: Watch[] = [];
  readonly #watches: { type: ResourceType; map: MapToRequests<KubeObject> }[] = [];
  #tuning: ControllerTuning = {};

  constructor(manager: Manager) {
    this.#manager = manager;
  }

  /** The controller's name: in logs, metrics labels and the work queue's name. Defaults to the kind, lower-case. */
  named(name: string): this {
    this.#name = name;
    return this;
  }

  /** The primary kind: each of its objects is a key to reconcile. */
  for<T extends KubeObject>(type: ResourceType, options: WatchOptions<T> = {}): this {
    if (this.#for) throw new Error('for() may be called once');
    this.#for = { type, options: options as unknown as WatchOptions<KubeObject> };
    return this;
  }

  /** A kind this controller creates: each event reconciles the object's controller owner. */
  owns<T extends KubeObject>(type: ResourceType, options: WatchOptions<T> = {}): this {
    this.#owns.push({ type, options: options as unknown as WatchOptions<KubeObject> });
    return this;
  }

  /**
   * Another reason to reconcile: events on objects of `type` (a kind already cached by for() or
   * owns(), or cached here with no selector) map to the keys `map` returns, at low priority.
   */
  watches<T extends KubeObject>(type: ResourceType, map: MapToRequests<T>): this {
    this.#watches.push({ type, map: map as unknown as MapToRequests<KubeObject> });
    return this;
  }

  withOptions(tuning: ControllerTuning): this {
    this.#tuning = { ...this.#tuning, ...tuning };
    return this;
  }

  /** Creates the caches and the controller, and adds it to the manager. */
  complete(reconciler: Reconciler): {
    controller: Controller;
    informers: Map<ResourceType, Informer<KubeObject>>;
  } {
    const primary = this.#for;
    if (!primary) throw new Error('for() must be called before complete()');
    const manager = this.#manager;
    const name = this.#name ?? primary.type.kind.toLowerCase();
    const informers = new Map<ResourceType, Informer<KubeObject>>();
    informers.set(primary.type, manager.informer(primary.type, primary.options));
    for (const owned of this.#owns) {
      const slim = owned.options.transform ?? ((o: KubeObject) => o);
      const keepOwned = keepOwnedFields<KubeObject>(manager.name, owned.options.prune ?? []);
      informers.set(
        owned.type,
        manager.informer(owned.type, {
          labelSelector: owned.options.labelSelector,
          transform: (raw) => keepOwned(raw, slim(raw)),
          // Nothing to prune: the cache keeps no managedFields, so the list need not decode them.
          protobuf:
            owned.options.protobuf && !owned.options.prune?.length
              ? withoutManagedFields(owned.options.protobuf)
              : owned.options.protobuf,
        }),
      );
    }
    const controller = new Controller({
      name,
      reconciler,
      client: manager.client,
      recorder: manager.recorder,
      log: manager.log,
      metrics: manager.metrics,
      clock: manager.clock,
      ...this.#tuning,
    });
    const enqueue = (key: string, priority: 'normal' | 'low') => controller.queue.add(key, priority);
    informers.get(primary.type)?.addHandler(enqueueForObject(enqueue));
    const owner = { apiVersion: primary.type.apiVersion, kind: primary.type.kind };
    for (const owned of this.#owns) informers.get(owned.type)?.addHandler(enqueueForOwner(owner, enqueue));
    for (const watch of this.#watches) {
      const informer = informers.get(watch.type) ?? manager.informer(watch.type);
      informers.set(watch.type, informer);
      const send = (obj: KubeObject, event: 'add' | 'update' | 'delete') => {
        for (const request of watch.map(obj, event)) enqueue(keyOf(request), 'low');
      };
      informer.addHandler({
        onAdd: (obj) => send(obj, 'add'),
        onUpdate: (_old, obj) => send(obj, 'update'),
        onDelete: (obj) => send(obj, 'delete'),
      });
    }
    manager.add(controller);
    return { controller, informers };
  }
}

/** Starts building a controller for `manager` (controller-runtime's NewControllerManagedBy). */
export function newControllerManagedBy(manager: Manager): ControllerBuilder {
  return new ControllerBuilder(manager);
}
