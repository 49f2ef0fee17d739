/**
 * Time, injectable. Two clocks, because they answer different questions:
 *  - `now()` is monotonic (performance.now(), milliseconds): every duration, deadline and backoff is
 *    measured on it, so a wall-clock step (NTP, a VM resumed, an admin's `date -s`) cannot stretch
 *    or shrink a lease or a retry;
 *  - `wall()` is the calendar date, only for what is written into objects (a Lease's renewTime,
 *    an Event's timestamps, a condition's lastTransitionTime).
 * Timers go through the clock too, so tests can drive every wait of the runtime with a fake clock.
 */

export interface Clock {
  /** Monotonic milliseconds; only differences mean anything. */
  now(): number;
  /** The calendar date, for timestamps written into objects. */
  wall(): Date;
  /** Calls `fn` after `ms` milliseconds of monotonic time. */
  setTimer(fn: () => void, ms: number): Timer;
}

export interface Timer {
  cancel(): void;
}

/** The process's real clocks. */
export const realClock: Clock = {
  now: () => performance.now(),
  wall: () => new Date(),
  setTimer(fn, ms) {
    // setTimeout overflows past 2^31-1 ms (24.8 days) to 1 ms: cap it (callers re-check their deadline).
    const handle = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    return { cancel: () => clearTimeout(handle) };
  },
};

/**
 * Waits `ms` milliseconds on `clock`, or less if `signal` aborts first: it then resolves early and
 * callers check `signal.aborted`. The abort listener is removed either way, so a long-lived signal
 * does not collect one per wait.
 */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = realClock): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
