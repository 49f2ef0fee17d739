/**
 * Gives memory back to the system once the process goes quiet after work that grew V8's heap.
 *
 * Why: after a burst of work (a first list of thousands of objects, a burst of reconciles) V8 keeps
 * the heap it grew: young-generation semi-spaces at their maximum and pooled old-space pages. V8 has
 * a memory reducer for exactly this, but in Node it declines every time: it judges the allocation
 * rate from samples taken at garbage collections, and an idle process makes none, so the last
 * sample (from the busy start) says "high allocation" forever. Traced on an idle operator holding
 * 1,000 ElasticWebs (`--trace-memory-reducer`): "high alloc" every 8 s, never a collection, and RSS
 * stayed at 123-140 MiB; one memory-reducing collection took it to 95-106 MiB in 32-40 ms.
 *
 * So this does what the reducer would: every `checkEveryMs`, if the event loop was nearly idle over
 * the last interval and V8's committed heap has grown by `growthBytes` since the last release, it
 * runs one memory-reducing collection (V8's "last resort" flavour: full collections that shrink the
 * young generation and return pooled pages).
 *
 * Releases are paced by what they cost, not by a fixed interval: the next comes no sooner than the
 * last one's duration divided by `maxShare` (1%) after it. Go's runtime paces the scavenger that
 * returns its freed pages the same way, to about 1% of one CPU. A small heap's release takes a few
 * milliseconds and may follow the next bit of work; a release of thousands of objects' heap, tens of
 * milliseconds, waits seconds. Before (2026-12-03) it was 8 MiB of growth and at most one per 30 s:
 * an operator holding one ElasticWeb never grew that much, so start-up's heap stayed committed.
 *
 * It needs V8's collector exposed (`node --expose-gc`, as the image runs it). Without it, it does
 * nothing and says so once, at info.
 *
 * Utilization is Node's own measure of the real event loop, even when a test injects a fake clock
 * for the timers.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { type Clock, realClock, type Timer } from '../clock.ts';
import type { Logger } from '../log/logger.ts';

export interface IdleReleaseOptions {
  log: Logger;
  /** V8's collector (globalThis.gc, present with --expose-gc). Without it nothing is released. */
  gc?: NodeJS.GCFunction;
  clock?: Clock;
  /** How often idleness and growth are checked (default 2 s). */
  checkEveryMs?: number;
  /** The loop counts as idle when it was busy less than this fraction of the last check (default 0.05). */
  idleUtilization?: number;
  /**
   * Release only once the committed heap grew this much above its lowest point since the last
   * release, or since the start (default 1 MiB: less is not worth a full collection).
   */
  growthBytes?: number;
  /** The largest share of time releases may take: after one of d ms, none for d / maxShare (default 0.01). */
  maxShare?: number;
  /** A floor on the time between releases (default none: checks come every `checkEveryMs` anyway). */
  minIntervalMs?: number;
  /**
   * Hands the C allocator's free pages back to the system after each collection, and says whether
   * it did (the operator passes glibc's malloc_trim through its addon, src/native/). The collection
   * frees V8's pages; the native buffers a burst of work left (socket reads, TLS, compiler zones)
   * sit free between live chunks of glibc's heaps, which give back only their top on their own.
   */
  trimNative?: () => boolean;
  /** Told of each release. */
  onRelease?: (release: Release) => void;
  /** V8's committed heap in bytes (injectable for tests). */
  heapCommitted?: () => number;
  /** Event-loop utilization since the previous call, 0-1 (injectable for tests). */
  utilization?: () => number;
}

export interface Release {
  beforeBytes: number;
  afterBytes: number;
  /** The collection and the native trim together, which the pacing charges. */
  durationMs: number;
  /** Whether `trimNative` gave memory back (undefined without it). */
  nativeTrimmed?: boolean;
}

/** Starts the checks; they stop when `signal` aborts. */
export function startIdleRelease(options: IdleReleaseOptions, signal: AbortSignal): void {
  const {
    log,
    gc,
    clock = realClock,
    checkEveryMs = 2000,
    idleUtilization = 0.05,
    growthBytes = 1024 * 1024,
    maxShare = 0.01,
    minIntervalMs = 0,
    heapCommitted = () => v8.getHeapStatistics().total_heap_size,
    utilization = loopUtilization(),
  } = options;
  if (!(maxShare > 0 && maxShare <= 1)) throw new RangeError(`maxShare must be in (0, 1], not ${maxShare}`);
  if (!gc) {
    log.info('idle memory release off: node runs without --expose-gc');
    return;
  }
  if (signal.aborted) return;
  // The heap's low-water mark: growth is measured from it, so a heap V8 shrank by itself counts
  // its regrowth in full.
  let baseline = heapCommitted();
  let nextAllowed = Number.NEGATIVE_INFINITY;
  let timer: Timer | undefined;
  const check = () => {
    try {
      const busy = utilization();
      const committed = heapCommitted();
      baseline = Math.min(baseline, committed);
      if (busy < idleUtilization && committed - baseline >= growthBytes && clock.now() >= nextAllowed) {
        const started = clock.now();
        gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
        // After the collection: it frees the external memory (Buffers) of what it found dead.
        const nativeTrimmed = trimNative(options, log);
        const ended = clock.now();
        nextAllowed = ended + Math.max(minIntervalMs, (ended - started) / maxShare);
        baseline = heapCommitted();
        const release: Release = {
          beforeBytes: committed,
          afterBytes: baseline,
          durationMs: ended - started,
          nativeTrimmed,
        };
        log.debug(release, 'released memory after work');
        options.onRelease?.(release);
      }
    } catch (err) {
      // Housekeeping: a failure here must not take the operator down, nor stop later checks.
      log.warn({ err }, 'idle memory release check failed');
    } finally {
      if (!signal.aborted) timer = clock.setTimer(check, checkEveryMs);
    }
  };
  timer = clock.setTimer(check, checkEveryMs);
  signal.addEventListener('abort', () => timer?.cancel(), { once: true });
}

/** The application's native trim, if any; one that throws counts as having given nothing back. */
function trimNative(options: IdleReleaseOptions, log: Logger): boolean | undefined {
  if (!options.trimNative) return undefined;
  try {
    return options.trimNative();
  } catch (err) {
    log.warn({ err }, 'native memory trim failed');
    return false;
  }
}

/** A reader of the event loop's utilization since its previous call (Node's own measure). */
export function loopUtilization(): () => number {
  let previous = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, previous);
    previous = now;
    return delta.utilization;
  };
}
