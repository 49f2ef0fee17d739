/**
 * A fake Clock for the runtime (src/runtime/clock.ts): monotonic time, the wall clock and every timer
 * armed through it move only when a test says so. `advance()` fires the timers that fall due, in
 * order, each at its own time, and lets the promise callbacks they start run before the next one:
 * a test sees what the code does at each instant, not a blur of everything at once.
 *
 * Network I/O is real (the scripted server is in-process), so a test that starts a request advances
 * the clock no further than the next thing it wants to happen, and waits for the I/O (see settle()).
 */
import type { Clock, Timer } from '../../../src/runtime/clock.ts';

interface Pending {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  #now: number;
  #wallOffset: number;
  #seq = 0;
  readonly #timers: Pending[] = [];
  /** Every delay asked of setTimer, in order (tests read backoffs from it). */
  readonly requested: number[] = [];

  constructor(options: { start?: number; wall?: Date } = {}) {
    this.#now = options.start ?? 1_000_000;
    this.#wallOffset = (options.wall ?? new Date('2026-12-01T12:00:00Z')).getTime() - this.#now;
  }

  now(): number {
    return this.#now;
  }

  wall(): Date {
    return new Date(this.#now + this.#wallOffset);
  }

  setTimer(fn: () => void, ms: number): Timer {
    const delay = Math.max(0, ms);
    this.requested.push(delay);
    const timer: Pending = { due: this.#now + delay, seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers armed and not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** When the earliest pending timer is due, in ms from now (undefined when none is). */
  get nextIn(): number | undefined {
    const next = this.#next();
    return next ? next.due - this.#now : undefined;
  }

  /** Steps the wall clock only (an NTP correction, `date -s`): monotonic time and timers do not move. */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
  }

  /** Moves time forward `ms`, firing each timer that falls due at its own instant. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (let next = this.#next(); next && next.due <= target; next = this.#next()) {
      this.#now = Math.max(this.#now, next.due);
      next.cancelled = true;
      next.fn();
      await flush();
    }
    this.#now = target;
    await flush();
  }

  #next(): Pending | undefined {
    let best: Pending | undefined;
    for (let i = this.#timers.length - 1; i >= 0; i--) {
      const t = this.#timers[i] as Pending;
      if (t.cancelled) {
        this.#timers.splice(i, 1);
        continue;
      }
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Lets pending promise callbacks run: a few turns of the real event loop (no real delay). */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits (in real time, polling) until `condition` holds; fails with `what` after `timeoutMs`. For
 * what real I/O brings about: a request reaching the scripted server, a response being handled.
 */
export async function eventually(
  condition: () => boolean,
  what = 'condition',
  timeoutMs = 3000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Whether `promise` has settled, without waiting for it beyond a flush. */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await flush();
  return done;
}

/**
 * Marks `promise` as handled now, so a rejection that comes while the test is still advancing the
 * clock is not reported as unhandled; the test still awaits (or asserts on) the promise itself.
 */
export function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Awaits `promise`, letting fake time jump to the next timer whenever the code is waiting on the
 * clock: for tests where every wait on the clock is a pause between retries, whose length is not
 * what the test is about.
 */
export async function drive<T>(clock: FakeClock, promise: Promise<T>, timeoutMs = 5000): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  watched.catch(() => {});
  const deadline = performance.now() + timeoutMs;
  while (!done && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const next = clock.nextIn;
    if (!done && next !== undefined) await clock.advance(next);
  }
  return watched;
}
