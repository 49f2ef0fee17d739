/**
 * The scale-down stabilization window, per ElasticWeb: the recommendations of the last
 * `windowSeconds`; the replicas applied are the highest of them (the HPA's behaviour). A scale-up is
 * therefore immediate (the newest recommendation is the highest), a scale-down waits until every
 * higher recommendation has aged out of the window.
 *
 * The window lives in memory. When it is first seen (the operator started, or the ElasticWeb switched
 * to Observed), it is seeded with the replicas the Deployment has then: a restart in the middle of a
 * window can delay a scale-down by one window, never bring it forward.
 */

interface Entry {
  at: number;
  replicas: number;
}

export class StabilizationWindow {
  readonly #entries = new Map<string, Entry[]>();

  /**
   * Records `recommended` for `key` at `now` (monotonic ms) and returns the replicas to apply: the
   * highest recommendation within the last `windowMs` (seeded with `current` on first sight).
   */
  apply(key: string, now: number, windowMs: number, recommended: number, current: number): number {
    let entries = this.#entries.get(key);
    if (!entries) {
      entries = [{ at: now, replicas: current }];
      this.#entries.set(key, entries);
    }
    entries.push({ at: now, replicas: recommended });
    const kept = entries.filter((e) => now - e.at <= windowMs);
    // Keep the newest entry even with a zero window, so the result is always defined.
    const live = kept.length > 0 ? kept : [entries[entries.length - 1] as Entry];
    this.#entries.set(key, compact(live));
    return Math.max(...live.map((e) => e.replicas));
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }
}

/** Drops entries that can never be the maximum again: older and not higher than a newer one. */
function compact(entries: Entry[]): Entry[] {
  const out: Entry[] = [];
  for (const entry of entries) {
    while (out.length > 0 && (out[out.length - 1] as Entry).replicas <= entry.replicas) out.pop();
    out.push(entry);
  }
  return out;
}
