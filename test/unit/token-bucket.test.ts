/** The token bucket behind the client's request limit and the work queue's overall retry limit. */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TokenBucket } from '../../src/runtime/client/token-bucket.ts';
import { settled } from './support/fake-time.ts';

describe('TokenBucket.reserve', () => {
  test('a new bucket is full: `burst` reservations need no wait', () => {
    const bucket = new TokenBucket(5, 4, () => 0);
    assert.deepEqual(
      Array.from({ length: 4 }, () => bucket.reserve()),
      [0, 0, 0, 0],
    );
  });

  test('once empty, each reservation waits 1/rate longer than the one before (FIFO)', () => {
    const bucket = new TokenBucket(4, 1, () => 0);
    assert.deepEqual(
      Array.from({ length: 4 }, () => bucket.reserve()),
      [0, 250, 500, 750],
    );
  });

  test('tokens come back at `rate` a second but never more than `burst` are saved', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 3, () => now);
    for (let i = 0; i < 3; i++) bucket.reserve();
    now = 500; // one token back
    assert.equal(bucket.reserve(), 0);
    assert.equal(bucket.reserve(), 500);
    now = 1_000_000;
    assert.deepEqual(
      [bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()],
      [0, 0, 0, 500],
    );
  });

  test('a burst below 1 is raised to 1', () => {
    const bucket = new TokenBucket(1, 0, () => 0);
    assert.equal(bucket.burst, 1);
    assert.equal(bucket.reserve(), 0);
    assert.equal(bucket.reserve(), 1000);
  });

  test('over any schedule, reservations never exceed burst + rate x elapsed time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 100 }),
        (rate, burst, gaps) => {
          let now = 0;
          const bucket = new TokenBucket(rate, burst, () => now);
          // Each reservation is used at now + wait; count the uses up to each instant.
          const uses: number[] = [];
          for (const gap of gaps) {
            now += gap;
            const wait = bucket.reserve();
            assert.ok(wait >= 0);
            uses.push(now + wait);
          }
          uses.sort((a, b) => a - b);
          uses.forEach((at, i) => {
            const allowed = burst + (at / 1000) * rate;
            assert.ok(i + 1 <= allowed + 1e-9, `${i + 1} uses by ${at} ms, at most ${allowed} allowed`);
          });
        },
      ),
    );
  });
});

describe('TokenBucket.take', { timeout: 5000 }, () => {
  test('resolves at once while tokens are left', async () => {
    const bucket = new TokenBucket(1, 2, () => 0);
    assert.equal(await settled(bucket.take()), true);
    assert.equal(await settled(bucket.take()), true);
  });

  test('waits for the next token when the bucket is empty', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const bucket = new TokenBucket(10, 1, () => 0);
    await bucket.take();
    const waiting = bucket.take();
    t.mock.timers.tick(99);
    assert.equal(await settled(waiting), false);
    t.mock.timers.tick(1);
    assert.equal(await settled(waiting), true);
  });

  test('rejects with the abort reason when its signal aborts while waiting', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const bucket = new TokenBucket(1, 1, () => 0);
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort(new Error('stopping'));
    await assert.rejects(waiting, /stopping/);
  });

  test('rejects at once when its signal was already aborted and it would have to wait', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const bucket = new TokenBucket(1, 1, () => 0);
    await bucket.take();
    const waiting = bucket.take(AbortSignal.abort(new Error('already stopped')));
    const done = await settled(waiting);
    t.mock.timers.tick(1000); // let a buggy waiter finish so the test ends
    assert.equal(done, true, 'an aborted signal must not make the caller wait the full second');
    await assert.rejects(waiting, /already stopped/);
  });

  test('does not leave an abort listener on the signal once the token is granted', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const bucket = new TokenBucket(1, 1, () => 0);
    await bucket.take();
    const controller = new AbortController();
    const waits = [bucket.take(controller.signal), bucket.take(controller.signal)];
    t.mock.timers.tick(2000);
    await Promise.all(waits);
    // A long-lived signal (the manager's) is passed to every request; leftover listeners pile up.
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});
