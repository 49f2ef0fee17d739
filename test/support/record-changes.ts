/**
 * Samples something a test cannot watch (kube-proxy's packet filter, a list it polls) on a fixed
 * period and keeps only the changes, each stamped with seconds since recording started. Tests run it
 * beside a load, so a failed request can be set against what the cluster said at that moment.
 */

/** A sample that differed from the one before it, and when it was taken. */
export type Change<T extends object> = T & { at: number };

/**
 * Calls `sample` every `everyMs` until `signal` aborts and returns each sample that differs (as JSON)
 * from the last one kept. A sample that throws or returns undefined is skipped: a moment with no
 * answer is not a change.
 */
export async function recordChanges<T extends object>(
  sample: () => Promise<T | undefined>,
  signal: AbortSignal,
  everyMs = 200,
): Promise<Change<T>[]> {
  const started = performance.now();
  const changes: Change<T>[] = [];
  let last: string | undefined;
  while (!signal.aborted) {
    const at = Math.round(performance.now() - started) / 1000;
    const value = await sample().catch(() => undefined);
    const key = value === undefined ? undefined : JSON.stringify(value);
    if (value !== undefined && key !== last) {
      changes.push({ ...value, at });
      last = key;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return changes;
}
