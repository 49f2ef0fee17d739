/**
 * What this process wrote lately and its informers have not shown yet: the "expectations" of
 * client-go's controllers. Right after a write, the cache still holds the old object (or none) until
 * the watch event arrives; a reconcile in that gap would see a stale world, and write again or look
 * the object up. A reconciler remembers each write here and reads through it; the informer forgets a
 * key as soon as it delivers any event for it, because from then on the cache is at least as new.
 * Entries also expire, so a lost event cannot pin a stale object.
 */
import type { InformerHandler, KubeObject } from './informer.ts';

const ttlMs = 30_000;

export class RecentWrites<T> {
  readonly #entries = new Map<string, { value: T; at: number }>();

  remember(key: string, value: T): void {
    this.#entries.set(key, { value, at: Date.now() });
  }

  /** The value written for `key`, unless the informer has caught up or it has expired. */
  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (Date.now() - entry.at > ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** An informer handler that forgets a key on every event for it (register it first). */
  forgetOnEvents<O extends KubeObject>(keyOf: (obj: O) => string): InformerHandler<O> {
    const forget = (obj: O) => this.forget(keyOf(obj));
    return { onAdd: forget, onUpdate: (_old, obj) => forget(obj), onDelete: forget };
  }
}
