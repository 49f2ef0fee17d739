/** The work queue's retry rate limiters, as client-go's: per-key exponential, overall bucket, max of both. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from '../../src/runtime/workqueue/rate-limiters.ts';

describe('ItemExponentialFailureRateLimiter', () => {
  test('consecutive failures of a key wait 5 ms, doubling each time', () => {
    const limiter = new ItemExponentialFailureRateLimiter();
    const waits = Array.from({ length: 8 }, () => limiter.when('a'));
    assert.deepEqual(waits, [5, 10, 20, 40, 80, 160, 320, 640]);
    assert.equal(limiter.numRequeues('a'), 8);
  });

  test('the wait is capped at 1000 s by default, and never becomes NaN or Infinity', () => {
    const limiter = new ItemExponentialFailureRateLimiter();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = limiter.when('a');
    assert.equal(last, 1_000_000);
  });

  test('the base and the cap can be chosen', () => {
    const limiter = new ItemExponentialFailureRateLimiter(100, 350);
    assert.deepEqual(
      Array.from({ length: 4 }, () => limiter.when('a')),
      [100, 200, 350, 350],
    );
  });

  test('each key has its own failure count', () => {
    const limiter = new ItemExponentialFailureRateLimiter();
    limiter.when('a');
    limiter.when('a');
    assert.equal(limiter.when('b'), 5);
    assert.equal(limiter.numRequeues('a'), 2);
    assert.equal(limiter.numRequeues('b'), 1);
    assert.equal(limiter.numRequeues('never'), 0);
  });

  test('forget() starts a key over at 5 ms and leaves other keys alone', () => {
    const limiter = new ItemExponentialFailureRateLimiter();
    limiter.when('a');
    limiter.when('a');
    limiter.when('b');
    limiter.forget('a');
    assert.equal(limiter.numRequeues('a'), 0);
    assert.equal(limiter.when('a'), 5);
    assert.equal(limiter.when('b'), 10);
  });

  test('the n-th consecutive failure waits min(base * 2^(n-1), cap)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 80 }),
        (base, cap, n) => {
          const limiter = new ItemExponentialFailureRateLimiter(base, cap);
          let wait = 0;
          for (let i = 0; i < n; i++) wait = limiter.when('k');
          assert.equal(wait, Math.min(base * 2 ** (n - 1), cap));
          assert.equal(limiter.numRequeues('k'), n);
        },
      ),
    );
  });
});

describe('BucketRateLimiter', () => {
  test('the first `burst` retries go at once, then they are spaced 1/qps apart', () => {
    const now = 0;
    const limiter = new BucketRateLimiter(10, 3, () => now);
    assert.deepEqual(
      Array.from({ length: 6 }, (_, i) => limiter.when(`k${i}`)),
      [0, 0, 0, 100, 200, 300],
    );
  });

  test('tokens come back with time, at qps a second, up to the burst', () => {
    let now = 0;
    const limiter = new BucketRateLimiter(10, 2, () => now);
    limiter.when('a');
    limiter.when('a');
    assert.equal(limiter.when('a'), 100, 'empty');
    now += 100; // repays the debt of the third call
    now += 100; // one token back
    assert.equal(limiter.when('a'), 0);
    assert.equal(limiter.when('a'), 100);
    now += 60_000; // a long idle time saves up no more than the burst
    assert.deepEqual([limiter.when('a'), limiter.when('a'), limiter.when('a')], [0, 0, 100]);
  });

  test('it is shared by all keys and keeps no per-key history', () => {
    const limiter = new BucketRateLimiter(1, 1, () => 0);
    assert.equal(limiter.when('a'), 0);
    assert.equal(limiter.when('b'), 1000);
    assert.equal(limiter.numRequeues('a'), 0);
    limiter.forget('b');
    assert.equal(limiter.when('c'), 2000, 'forget() does not give tokens back');
  });
});

describe('MaxOfRateLimiter', () => {
  class Fixed implements RateLimiter {
    readonly forgotten: string[] = [];
    readonly #wait: number;
    readonly #requeues: number;
    constructor(wait: number, requeues: number) {
      this.#wait = wait;
      this.#requeues = requeues;
    }
    when(): number {
      return this.#wait;
    }
    forget(key: string): void {
      this.forgotten.push(key);
    }
    numRequeues(): number {
      return this.#requeues;
    }
  }

  test('waits as long as the slowest of its limiters', () => {
    assert.equal(new MaxOfRateLimiter(new Fixed(5, 0), new Fixed(70, 0), new Fixed(20, 0)).when('a'), 70);
  });

  test('asks every limiter, so each records the failure', () => {
    const a = new ItemExponentialFailureRateLimiter(1, 1000);
    const b = new ItemExponentialFailureRateLimiter(3, 1000);
    const max = new MaxOfRateLimiter(a, b);
    assert.equal(max.when('k'), 3);
    assert.equal(max.when('k'), 6);
    assert.equal(a.numRequeues('k'), 2);
    assert.equal(b.numRequeues('k'), 2);
  });

  test('forget() reaches every limiter and numRequeues() is the largest count', () => {
    const a = new Fixed(0, 2);
    const b = new Fixed(0, 7);
    const max = new MaxOfRateLimiter(a, b);
    assert.equal(max.numRequeues('k'), 7);
    max.forget('k');
    assert.deepEqual([a.forgotten, b.forgotten], [['k'], ['k']]);
  });
});

describe('defaultControllerRateLimiter', () => {
  test('a failing key waits 5, 10, 20 ms while the overall bucket has tokens', () => {
    const limiter = defaultControllerRateLimiter();
    assert.deepEqual([limiter.when('a'), limiter.when('a'), limiter.when('a')], [5, 10, 20]);
    assert.equal(limiter.numRequeues('a'), 3);
    limiter.forget('a');
    assert.equal(limiter.when('a'), 5);
  });

  test('after a burst of 100 retries, the overall limit of 10 a second takes over', () => {
    const limiter = defaultControllerRateLimiter();
    for (let i = 0; i < 100; i++) assert.equal(limiter.when(`k${i}`), 5);
    // The 101st retry waits for the bucket: ~100 ms (a little less if real time passed meanwhile).
    const wait = limiter.when('k100');
    assert.ok(wait > 50 && wait <= 100, `waits ${wait} ms`);
  });

  test('a key that keeps failing reaches the 1000 s cap', () => {
    const limiter = defaultControllerRateLimiter();
    let wait = 0;
    for (let i = 0; i < 40; i++) wait = limiter.when('a');
    assert.equal(wait, 1_000_000);
  });
});
