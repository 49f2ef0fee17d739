/**
 * The objects of one informer, by "namespace/name", plus what this process wrote itself and the watch
 * has not shown yet (read-your-writes).
 *
 * Right after a write, the watch still holds the old object (or none) until its event arrives; a
 * reconcile in that gap would see a stale world and write again. So a successful write is recorded
 * here and wins over the watched copy until the watch catches up. A watch delivers events in
 * resourceVersion order, so the written object is superseded when the event carrying its own
 * resourceVersion, or a later one, arrives; a relist reads the current state, which already includes
 * every write that returned before it, so it clears them all; a deletion clears it too. A write the
 * watch never shows (the object no longer matches the informer's label selector) expires after
 * `writeTtlMs`.
 *
 * The response to a write can be read after the watch has already shown that write *and* a newer
 * change by someone else (or the object's deletion); recording the write then would hide what came
 * after, and, since no further event comes, nobody would reconcile it. So a write is not recorded
 * when the watch already delivered its version (remembered for the last few thousand events, which
 * covers deletions), or shows a newer one: resourceVersions are comparable integers since
 * Kubernetes 1.35 (KEP-5504); where they do not compare, only the exact version counts.
 */

import { keyOf } from '../client/resource-type.ts';
import type { Clock } from '../clock.ts';
import { realClock } from '../clock.ts';

export interface StoredObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

/**
 * How many recently delivered versions are remembered (see recordWrite). The race they cover lasts
 * from a write's commit until its answer is read, milliseconds: thousands of events are plenty.
 */
const rememberedEvents = 4096;

export class Store<T extends StoredObject> {
  readonly #objects = new Map<string, T>();
  readonly #written = new Map<string, { object: T; at: number }>();
  /** "key\0resourceVersion" of the versions the watch delivered lately, oldest first. */
  readonly #delivered = new Set<string>();
  readonly #clock: Clock;
  readonly #writeTtlMs: number;

  constructor(options: { clock?: Clock; writeTtlMs?: number } = {}) {
    this.#clock = options.clock ?? realClock;
    this.#writeTtlMs = options.writeTtlMs ?? 60_000;
  }

  /** The newest known state of `key`: our own unseen write, else the watched object. */
  get(key: string): T | undefined {
    const written = this.#written.get(key);
    if (written) {
      if (this.#clock.now() - written.at <= this.#writeTtlMs) return written.object;
      this.#written.delete(key);
    }
    return this.#objects.get(key);
  }

  /** The watched object only (what the API server last told the watch). */
  watched(key: string): T | undefined {
    return this.#objects.get(key);
  }

  /** Every object, newest known state; the array is new, the objects are the store's own. */
  list(): T[] {
    if (this.#written.size === 0) return [...this.#objects.values()];
    const keys = new Set([...this.#objects.keys(), ...this.#written.keys()]);
    return [...keys].map((k) => this.get(k)).filter((o): o is T => o !== undefined);
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Objects written by us and not yet seen by the watch (for tests and metrics). */
  get unseenWrites(): number {
    return this.#written.size;
  }

  /**
   * Records an object a write of ours returned. Ignored when the watch already shows that version or
   * a newer one (a write that changed nothing returns the same resourceVersion).
   */
  recordWrite(object: T): void {
    const key = keyOf(object.metadata);
    const version = object.metadata.resourceVersion;
    const watched = this.#objects.get(key)?.metadata.resourceVersion;
    if (watched !== undefined && notNewer(version, watched)) return;
    if (this.#delivered.has(`${key}\u0000${version}`)) return;
    this.#written.set(key, { object, at: this.#clock.now() });
  }

  /** A watch event added or changed `object`; returns the previous watched copy. */
  applied(object: T): T | undefined {
    const key = keyOf(object.metadata);
    const before = this.#objects.get(key);
    this.#objects.set(key, object);
    this.#delivered.add(`${key}\u0000${object.metadata.resourceVersion}`);
    if (this.#delivered.size > rememberedEvents)
      this.#delivered.delete(this.#delivered.values().next().value as string);
    const written = this.#written.get(key);
    const shown = object.metadata.resourceVersion;
    if (written && shown !== undefined && notNewer(written.object.metadata.resourceVersion, shown)) {
      this.#written.delete(key);
    }
    return before;
  }

  /** A watch event deleted `key`; returns the previous watched copy. */
  deleted(key: string): T | undefined {
    const before = this.#objects.get(key);
    this.#objects.delete(key);
    this.#written.delete(key);
    return before;
  }

  /**
   * Replaces everything with a fresh list; returns what was there before. Our unseen writes are
   * dropped: a list reads after they returned, so it holds them or something newer.
   */
  replace(objects: Iterable<T>): Map<string, T> {
    const before = new Map(this.#objects);
    this.#objects.clear();
    this.#written.clear();
    for (const object of objects) this.#objects.set(keyOf(object.metadata), object);
    return before;
  }
}

/**
 * Compares two resourceVersions of objects of one resource, as client-go's CompareResourceVersion
 * (KEP-5504): -1, 0 or 1 when both are positive integers without leading zeros (of any length);
 * undefined when either is not, as from an API server older than 1.35 or an aggregated one.
 */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  const integer = /^[1-9][0-9]*$/;
  if (!integer.test(a) || !integer.test(b)) return undefined;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether `version` is `than` or older; versions that cannot be compared are only equal or not. */
function notNewer(version: string | undefined, than: string): boolean {
  if (version === undefined) return false;
  const order = compareResourceVersions(version, than);
  return order === undefined ? version === than : order <= 0;
}
