/**
 * A token bucket: `rate` tokens a second, at most `burst` saved up. take() resolves when a token is
 * free, in FIFO order. Used for the optional client-side request limit and the work queue's overall
 * retry limit, as client-go's BucketRateLimiter.
 */
import { type Clock, realClock, sleep } from '../clock.ts';

export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last: number;
  readonly #now: () => number;
  readonly #clock: Clock;

  constructor(
    rate: number,
    burst: number,
    now: () => number = () => performance.now(),
    clock: Clock = realClock,
  ) {
    this.rate = rate;
    this.burst = Math.max(1, burst);
    this.#tokens = this.burst;
    this.#now = now;
    this.#clock = clock;
    this.#last = now();
  }

  /**
   * Reserves one token and returns how long (ms) the caller must wait before using it. Reservations
   * may drive the balance negative, which is what makes later callers wait longer (fair, FIFO).
   */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.rate) * 1000;
  }

  /** Takes a token if one is free now, without waiting or going into debt. */
  tryTake(): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Waits for a token; rejects with the signal's reason if it aborts first (or already has). */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const wait = this.reserve();
    if (wait <= 0) return;
    await sleep(wait, signal, this.#clock);
    signal?.throwIfAborted();
  }
}
