/**
 * What a reconciler reads and writes through, as controller-runtime's client.Client: reads come from
 * the informers' caches (no request), writes go to the API server, and every object a write returns
 * is recorded in the cache of its kind, so the next read sees it (read-your-writes) even before the
 * watch brings it.
 *
 * It also remembers each server-side apply (or each smaller write standing for one, `patchFields`)
 * and the resourceVersion it produced (`repeatsLastApply`): if admission (a mutating policy or
 * webhook) rewrites a field on every write, the result of the next identical apply is known already,
 * and sending it again would only start a fight. Repeating is allowed again once the object or the
 * applied configuration changes, or after `repeatAfterMs`.
 */

import { ApiError, classify, isApiError } from '../client/errors.ts';
import type { KubeClient, ObjectWithMeta } from '../client/kube-client.ts';
import type { ObjectKey, ResourceType } from '../client/resource-type.ts';
import { keyOf } from '../client/resource-type.ts';
import { type Clock, realClock } from '../clock.ts';
import type { Informer, KubeObject } from './informer.ts';

/** The key of a kind in the cache registry: one informer per kind. */
export function typeKey(type: ResourceType): string {
  return `${type.apiVersion}/${type.plural}`;
}

export interface CachedClientOptions {
  api: KubeClient;
  /** The field manager of every write (the controller's name, as kubebuilder's are). */
  fieldManager: string;
  informerOf: (type: ResourceType) => Informer<KubeObject> | undefined;
  clock?: Clock;
  /** How long an identical apply is not repeated against its own result (default 10 minutes). */
  repeatAfterMs?: number;
}

export class CachedClient {
  /** Direct access to the API server, for what no cache holds (a name someone else took). */
  readonly api: KubeClient;
  readonly fieldManager: string;
  readonly #informerOf: CachedClientOptions['informerOf'];
  readonly #clock: Clock;
  readonly #repeatAfterMs: number;
  /** The last apply per object: what was sent, and the resourceVersion it produced. */
  readonly #lastApply = new Map<string, { body: string; resultVersion: string | undefined; at: number }>();
  readonly #unremovable = new Map<string, Set<string>>();

  constructor(options: CachedClientOptions) {
    this.api = options.api;
    this.fieldManager = options.fieldManager;
    this.#informerOf = options.informerOf;
    this.#clock = options.clock ?? realClock;
    this.#repeatAfterMs = options.repeatAfterMs ?? 10 * 60_000;
  }

  /** The cached object (or our newer write of it); undefined when absent. Throws if no informer caches `type`. */
  get<T extends KubeObject>(type: ResourceType, key: ObjectKey): T | undefined {
    return this.#informer(type).get(keyOf(key)) as T | undefined;
  }

  /** Cached objects of `type`, optionally of one namespace. */
  list<T extends KubeObject>(type: ResourceType, options: { namespace?: string } = {}): T[] {
    const all = this.#informer(type).list() as T[];
    return options.namespace === undefined
      ? all
      : all.filter((o) => o.metadata.namespace === options.namespace);
  }

  async create<T extends KubeObject>(type: ResourceType, body: ObjectWithMeta): Promise<T> {
    const created = await this.api.create<T>(type, body.metadata.namespace, body, this.fieldManager);
    this.#record(type, created);
    return created;
  }

  /**
   * Whether applying `body` would only repeat our last apply against the very object it produced
   * (nothing changed since, on either side): the result is known already, so it need not be sent.
   */
  repeatsLastApply(type: ResourceType, body: ObjectWithMeta): boolean {
    const last = this.#lastApply.get(`${typeKey(type)}/${keyOf(body.metadata)}`);
    const cached = this.#informerOf(type)?.get(keyOf(body.metadata));
    return (
      last !== undefined &&
      cached !== undefined &&
      last.body === JSON.stringify(body) &&
      last.resultVersion === cached.metadata.resourceVersion &&
      this.#clock.now() - last.at < this.#repeatAfterMs
    );
  }

  /** Server-side apply under this client's field manager (force: a controller owns what it applies). */
  async apply<T extends KubeObject>(type: ResourceType, body: ObjectWithMeta): Promise<T> {
    const applied = await this.api.apply<T>(type, body, this.fieldManager, true);
    this.#rememberApply(type, body, applied);
    this.#record(type, applied);
    return applied;
  }

  #rememberApply(type: ResourceType, body: ObjectWithMeta, result: KubeObject): void {
    this.#lastApply.set(`${typeKey(type)}/${keyOf(body.metadata)}`, {
      body: JSON.stringify(body),
      resultVersion: result.metadata.resourceVersion,
      at: this.#clock.now(),
    });
    if (this.#lastApply.size > 50_000) this.#lastApply.delete(this.#lastApply.keys().next().value as string);
  }

  async mergePatch<T extends KubeObject>(
    type: ResourceType,
    key: ObjectKey,
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    const patched = await this.api.mergePatch<T>(type, key, patch, this.fieldManager, subresource);
    this.#record(type, patched);
    return patched;
  }

  async jsonPatch<T extends KubeObject>(
    type: ResourceType,
    key: ObjectKey,
    operations: unknown[],
    subresource?: string,
  ): Promise<T> {
    const patched = await this.api.jsonPatch<T>(type, key, operations, this.fieldManager, subresource);
    this.#record(type, patched);
    return patched;
  }

  /**
   * Replaces the status of `object` (status subresource), only if it still is the object with that
   * uid: a JSON patch whose first operation tests metadata.uid, checked against the stored object. A
   * status computed for one object can then never land on another re-created under the same name
   * (a merge patch would silently drop the uid).
   */
  async replaceStatus<T extends KubeObject>(
    type: ResourceType,
    object: { metadata: { namespace?: string; name: string; uid: string } },
    status: unknown,
  ): Promise<T> {
    return this.#patchIfSame<T>(
      type,
      object.metadata,
      [{ op: 'add', path: '/status', value: status }],
      'status',
    );
  }

  /**
   * Writes a few fields of `body` alone (`operations`, JSON patch), only if the object still has
   * `body.metadata.uid`, and remembers it as an apply of `body` (see repeatsLastApply): for a drift
   * that a smaller write can undo, e.g. only spec.replicas.
   */
  async patchFields<T extends KubeObject>(
    type: ResourceType,
    body: ObjectWithMeta & { metadata: { uid: string } },
    operations: unknown[],
  ): Promise<T> {
    const patched = await this.#patchIfSame<T>(type, body.metadata, operations);
    this.#rememberApply(type, body, patched);
    return patched;
  }

  /**
   * A JSON patch whose first operation tests metadata.uid. The API server answers a failed test with
   * a bare 422 (no causes); it is reported as the uid precondition failure it is. A validating
   * webhook's refusal can be a bare 422 too: that one names the webhook and stays a denial.
   */
  async #patchIfSame<T extends KubeObject>(
    type: ResourceType,
    target: { namespace?: string; name: string; uid: string },
    operations: unknown[],
    subresource?: string,
  ): Promise<T> {
    const guarded = [{ op: 'test', path: '/metadata/uid', value: target.uid }, ...operations];
    try {
      return await this.jsonPatch<T>(type, target, guarded, subresource);
    } catch (err) {
      if (
        isApiError(err) &&
        err.status === 422 &&
        err.causes.length === 0 &&
        classify(err).kind !== 'denied'
      ) {
        throw new ApiError({
          status: 409,
          method: err.method,
          path: err.path,
          message: `Precondition failed: UID in precondition: ${target.uid} (the object was replaced)`,
          cause: err,
        });
      }
      throw err;
    }
  }

  async strategicMergePatch<T extends KubeObject>(
    type: ResourceType,
    key: ObjectKey,
    patch: unknown,
  ): Promise<T> {
    const patched = await this.api.strategicMergePatch<T>(type, key, patch, this.fieldManager);
    this.#record(type, patched);
    return patched;
  }

  /**
   * Stray fields the API server put back right after we deleted them (a default it fills in again):
   * deleting them again would loop, so ensureOwnedChild leaves them alone from then on.
   */
  unremovable(type: ResourceType, key: ObjectKey): ReadonlySet<string> {
    return this.#unremovable.get(`${typeKey(type)}/${keyOf(key)}`) ?? new Set();
  }

  markUnremovable(type: ResourceType, key: ObjectKey, paths: Iterable<string>): void {
    const k = `${typeKey(type)}/${keyOf(key)}`;
    const set = new Set([...(this.#unremovable.get(k) ?? []), ...paths]);
    this.#unremovable.set(k, set);
    if (this.#unremovable.size > 50_000)
      this.#unremovable.delete(this.#unremovable.keys().next().value as string);
  }

  /** Deletes `key`, only if it still is the object with `uid` when given. */
  async delete(
    type: ResourceType,
    key: ObjectKey,
    options: { uid?: string; propagationPolicy?: string } = {},
  ) {
    await this.api.delete(type, key, options);
  }

  /** Forgets what it knows of an object's last apply (it was deleted). */
  forget(type: ResourceType, key: ObjectKey): void {
    this.#lastApply.delete(`${typeKey(type)}/${keyOf(key)}`);
  }

  #record(type: ResourceType, obj: KubeObject | undefined): void {
    if (obj?.metadata) this.#informerOf(type)?.recordWrite(obj);
  }

  #informer(type: ResourceType): Informer<KubeObject> {
    const informer = this.#informerOf(type);
    if (!informer) throw new Error(`no cache of ${type.kind}: register it with for() or owns() first`);
    return informer;
  }
}
