/**
 * A fake clock for code that takes a `now` option and arms real `setTimeout`s: node:test's mock
 * timers replace setTimeout, and `advance()` moves the clock and the mocked timers together, one
 * millisecond at a time, so a timer callback always sees the time it was due at.
 */
import type { mock } from 'node:test';

type MockTimers = typeof mock.timers;

export class FakeTime {
  #now: number;
  readonly #timers: MockTimers;

  constructor(timers: MockTimers, start = 0) {
    this.#timers = timers;
    this.#now = start;
    timers.enable({ apis: ['setTimeout'] });
  }

  /** The clock, as a `now` option. */
  readonly now = (): number => this.#now;

  /** Moves the clock forward `ms` milliseconds, firing the timers that fall due on the way. */
  advance(ms: number): void {
    for (let i = 0; i < ms; i++) {
      this.#now += 1;
      this.#timers.tick(1);
    }
  }

  /** Restores the real timers. */
  reset(): void {
    this.#timers.reset();
  }
}

/** Lets every pending promise callback run (setImmediate is left unmocked). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether `promise` has settled, without waiting for it. */
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
