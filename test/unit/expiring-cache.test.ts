/** ExpiringCache: time to live, one computation per key at a time, failures not kept, bounded size. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpiringCache } from '../../src/runtime/metrics/secure/expiring-cache.ts';

function counter() {
  let calls = 0;
  return {
    compute: (value: string) => async () => {
      calls++;
      return value;
    },
    get calls() {
      return calls;
    },
  };
}

describe('ExpiringCache', () => {
  test('a value is reused until its time to live has passed, then computed again', async () => {
    let now = 1000;
    const cache = new ExpiringCache<string>({ maxEntries: 10, now: () => now });
    const c = counter();
    assert.deepEqual(await cache.get('k', c.compute('a'), () => 60_000), { value: 'a', computed: true });
    now += 59_999;
    assert.deepEqual(await cache.get('k', c.compute('b'), () => 60_000), { value: 'a', computed: false });
    now += 1;
    assert.deepEqual(await cache.get('k', c.compute('b'), () => 60_000), { value: 'b', computed: true });
    assert.equal(c.calls, 2);
  });

  test('the time to live may depend on the value; 0 keeps nothing', async () => {
    const now = 0;
    const cache = new ExpiringCache<string>({ maxEntries: 10, now: () => now });
    const c = counter();
    const ttl = (v: string) => (v === 'keep' ? 1000 : 0);
    await cache.get('a', c.compute('drop'), ttl);
    await cache.get('a', c.compute('drop'), ttl);
    assert.equal(c.calls, 2);
    assert.equal(cache.size, 0);
    await cache.get('b', c.compute('keep'), ttl);
    await cache.get('b', c.compute('keep'), ttl);
    assert.equal(c.calls, 3);
  });

  test('concurrent lookups of one key share one computation', async () => {
    const cache = new ExpiringCache<string>({ maxEntries: 10 });
    let calls = 0;
    let release: (v: string) => void = () => {};
    const slow = () => {
      calls++;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    };
    const lookups = Array.from({ length: 20 }, () => cache.get('k', slow, () => 60_000));
    release('done');
    const results = await Promise.all(lookups);
    assert.equal(calls, 1);
    assert.deepEqual(
      results.map((r) => r.value),
      Array(20).fill('done'),
    );
    assert.equal(results.filter((r) => r.computed).length, 1);
  });

  test('a failed computation is not kept: every waiter sees the error and the next lookup computes again', async () => {
    const cache = new ExpiringCache<string>({ maxEntries: 10 });
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('API server down');
    };
    const both = [cache.get('k', failing, () => 60_000), cache.get('k', failing, () => 60_000)];
    for (const p of both) await assert.rejects(p, /API server down/);
    assert.equal(cache.size, 0);
    const c = counter();
    assert.equal((await cache.get('k', c.compute('ok'), () => 60_000)).value, 'ok');
    assert.equal(calls, 1);
  });

  test('past maxEntries the least recently used key goes', async () => {
    const cache = new ExpiringCache<string>({ maxEntries: 3 });
    const c = counter();
    for (const k of ['a', 'b', 'c']) await cache.get(k, c.compute(k), () => 60_000);
    await cache.get('a', c.compute('a'), () => 60_000); // a is now the most recently used
    await cache.get('d', c.compute('d'), () => 60_000); // evicts b
    assert.equal(cache.size, 3);
    assert.equal(c.calls, 4);
    assert.equal((await cache.get('a', c.compute('a2'), () => 60_000)).computed, false);
    assert.equal((await cache.get('b', c.compute('b2'), () => 60_000)).computed, true, 'b was evicted');
  });

  test('a stream of distinct keys never holds more than maxEntries', async () => {
    const cache = new ExpiringCache<number>({ maxEntries: 50 });
    for (let i = 0; i < 1000; i++)
      await cache.get(
        `k${i}`,
        async () => i,
        () => 60_000,
      );
    assert.equal(cache.size, 50);
  });

  test('maxEntries must be at least 1', () => {
    assert.throws(() => new ExpiringCache({ maxEntries: 0 }), /at least 1/);
  });
});
