/**
 * Controller: how failures are retried, told apart by classify(). After an outage of the API server
 * only the keys that failed because of it are retried at once, paced (a burst of 200, then 50 a
 * second), while a key a webhook refuses keeps its backoff; a 'fenced' failure (not the leader) is
 * not retried; failures are counted, panics (bugs) apart. The work queue arms real timers, so time is
 * node:test's mock timers plus a clock over them.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import type { CachedClient } from '../../src/runtime/cache/cached-client.ts';
import { ApiError, NotLeaderError } from '../../src/runtime/client/errors.ts';
import type { Clock } from '../../src/runtime/clock.ts';
import {
  Controller,
  type Reconciler,
  type Request,
  type Result,
} from '../../src/runtime/controller/controller.ts';
import type { EventRecorder } from '../../src/runtime/events/recorder.ts';
import { Metrics } from '../../src/runtime/metrics/metrics.ts';
import { ItemExponentialFailureRateLimiter } from '../../src/runtime/workqueue/rate-limiters.ts';
import { silentLog } from './support/config.ts';
import { flush } from './support/fake-clock.ts';

/** Mocked setTimeout and a clock that reads the same time: the queue's timers and the controller's agree. */
function mockedTime(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  const clock: Clock = {
    now: () => now,
    wall: () => new Date(now),
    setTimer(fn, ms) {
      const handle = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(handle) };
    },
  };
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      now++;
      t.mock.timers.tick(1);
      if (i % 20 === 0) await flush();
    }
    await flush();
  };
  return { clock, advance };
}

const unreachable = () =>
  new ApiError({
    status: 0,
    method: 'PATCH',
    path: '/apis/apps/v1/x',
    message: 'connect ECONNREFUSED 127.0.0.1:6443',
  });
const webhookDown = () =>
  new ApiError({
    status: 500,
    method: 'PATCH',
    path: '/apis/apps/v1/x',
    body: {
      message:
        'Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "https://down.example.com/validate": dial tcp: connect: connection refused',
    },
  });

/** A controller whose reconciler answers with `answer(key)` and counts calls per key. */
function controller(
  t: TestContext,
  answer: (key: string) => Result | undefined | Error,
  options: { workers?: number } = {},
) {
  const time = mockedTime(t);
  const calls = new Map<string, number>();
  const reconciler: Reconciler = {
    async reconcile(request: Request) {
      const key = `${request.namespace}/${request.name}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
      const result = answer(key);
      if (result instanceof Error) throw result;
      return result;
    },
  };
  const metrics = new Metrics({ processMetrics: false });
  const c = new Controller({
    name: 'widget',
    reconciler,
    client: {} as CachedClient,
    recorder: {} as EventRecorder,
    log: silentLog,
    metrics,
    clock: time.clock,
    maxConcurrentReconciles: options.workers ?? 10,
    // A minute per failure: nothing comes back by its backoff during a test unless it is released.
    rateLimiter: new ItemExponentialFailureRateLimiter(60_000, 60_000),
  });
  const stop = new AbortController();
  c.start(stop.signal);
  t.after(() => {
    stop.abort();
    c.queue.shutDown();
  });
  const total = () => [...calls.values()].reduce((a, b) => a + b, 0);
  return { c, calls, total, metrics, ...time };
}

const counter = async (metric: { get(): Promise<{ values: { value: number; labels: object }[] }> }) =>
  (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);

describe('Controller: retrying after an outage', { timeout: 20_000 }, () => {
  test('releases only keys that failed because of the outage, paced: 200 at once, then 50 a second', async (t) => {
    let apiDown = true;
    const { c, calls, total, advance } = controller(t, (key) => {
      if (key === 'ns/webhook') return webhookDown();
      return apiDown ? unreachable() : undefined;
    });
    for (let i = 0; i < 250; i++) c.enqueue({ namespace: 'ns', name: `k${i}` });
    c.enqueue({ namespace: 'ns', name: 'webhook' });
    await advance(1);
    assert.equal(total(), 251, 'each key failed once');
    assert.equal(c.queue.delayed, 251, 'and waits out its backoff');

    apiDown = false;
    c.retryAfterOutage();
    await advance(1);
    assert.equal(total(), 451, 'a burst of 200 at once');
    await advance(20);
    assert.equal(total(), 452, 'then one each 20 ms');
    await advance(980);
    assert.equal(total(), 501, 'all 250 within a second');
    assert.equal(
      calls.get('ns/webhook'),
      1,
      "the key a webhook refuses keeps its backoff: it is not the API server's fault",
    );

    c.retryAfterOutage();
    await advance(1000);
    assert.equal(total(), 501, 'a second recovery has nothing left to release');
  });

  test('a released key does not come back a second time when the backoff it was released from ends', async (t) => {
    let apiDown = true;
    const { c, total, calls, advance } = controller(t, (key) => {
      if (key === 'ns/webhook') return webhookDown();
      return apiDown ? unreachable() : undefined;
    });
    for (let i = 0; i < 3; i++) c.enqueue({ namespace: 'ns', name: `k${i}` });
    c.enqueue({ namespace: 'ns', name: 'webhook' });
    await advance(1);
    apiDown = false;
    c.retryAfterOutage();
    await advance(10);
    assert.equal(total(), 7, 'the three retried once');
    assert.equal(c.queue.delayed, 1, 'only the webhook key still waits');
    await advance(60_000);
    assert.equal(calls.get('ns/webhook'), 2, 'its minute is up');
    assert.equal(total(), 8, 'the released keys were not retried again');
  });

  test('a key that failed in the outage and succeeded since, or failed otherwise since, is not released', async (t) => {
    const answers = new Map<string, Error | undefined>([
      ['ns/healed', unreachable()],
      ['ns/refused', unreachable()],
    ]);
    const { c, calls, advance } = controller(t, (key) => answers.get(key));
    c.enqueue({ namespace: 'ns', name: 'healed' });
    c.enqueue({ namespace: 'ns', name: 'refused' });
    await advance(1);
    answers.set('ns/healed', undefined);
    answers.set('ns/refused', webhookDown());
    c.enqueue({ namespace: 'ns', name: 'healed' });
    c.enqueue({ namespace: 'ns', name: 'refused' });
    await advance(1);
    assert.deepEqual([calls.get('ns/healed'), calls.get('ns/refused')], [2, 2]);
    c.retryAfterOutage();
    await advance(1000);
    assert.deepEqual([calls.get('ns/healed'), calls.get('ns/refused')], [2, 2]);
  });
});

describe('Controller: failures', { timeout: 20_000 }, () => {
  test("a 'fenced' failure (this replica may have lost its lease) is not retried", async (t) => {
    const { c, calls, advance, metrics } = controller(t, () => new NotLeaderError('apply /apis/apps/v1/x'));
    c.enqueue({ namespace: 'ns', name: 'a' });
    await advance(1);
    assert.equal(c.queue.delayed, 0, 'nothing scheduled');
    await advance(120_000);
    assert.equal(calls.get('ns/a'), 1);
    assert.equal(await counter(metrics.reconcileErrors), 1);
    assert.equal(await counter(metrics.reconcilePanics), 0);
  });

  test('errors are counted; only failures that are no API error (bugs) count as panics', async (t) => {
    const answers: Error[] = [
      new ApiError({
        status: 422,
        method: 'PATCH',
        path: '/x',
        body: { reason: 'Invalid', message: 'invalid' },
      }),
      webhookDown(),
      new TypeError("Cannot read properties of undefined (reading 'spec')"),
    ];
    const { c, advance, metrics } = controller(t, () => answers.shift());
    for (const name of ['a', 'b', 'c', 'd']) c.enqueue({ namespace: 'ns', name });
    await advance(1);
    assert.equal(await counter(metrics.reconcileErrors), 3);
    assert.equal(await counter(metrics.reconcilePanics), 1);
    const results = (await metrics.reconcileTotal.get()).values.filter((v) => v.value > 0);
    assert.deepEqual(results.map((v) => [v.labels.result, v.value]).sort(), [
      ['error', 3],
      ['success', 1],
    ]);
  });

  test('requeueAfterMs brings the key back after exactly that long', async (t) => {
    const { c, calls, advance } = controller(t, (key) =>
      key === 'ns/later' ? { requeueAfterMs: 5000 } : undefined,
    );
    c.enqueue({ namespace: 'ns', name: 'later' });
    await advance(1);
    await advance(4998);
    assert.equal(calls.get('ns/later'), 1);
    await advance(2);
    assert.equal(calls.get('ns/later'), 2);
  });

  for (const finishes of [true, false]) {
    test(`stop() ${finishes ? 'waits for a running reconcile' : 'gives up on a reconcile that outlasts its deadline'}`, async (t) => {
      await stopWhile(t, finishes);
    });
  }
});

async function stopWhile(t: TestContext, finishes: boolean): Promise<void> {
  const time = mockedTime(t);
  let finish: () => void = () => {};
  const c = new Controller({
    name: 'slow',
    reconciler: { reconcile: () => new Promise<undefined>((resolve) => (finish = () => resolve(undefined))) },
    client: {} as CachedClient,
    recorder: {} as EventRecorder,
    log: silentLog,
    metrics: new Metrics({ processMetrics: false }),
    clock: time.clock,
  });
  c.start(new AbortController().signal);
  c.enqueue({ namespace: 'ns', name: 'a' });
  await time.advance(1);
  assert.equal(c.activeWorkers, 1);
  let stopped: boolean | undefined;
  void c.stop(30_000).then((inTime) => {
    stopped = inTime;
  });
  await time.advance(29_000);
  assert.equal(stopped, undefined, 'still draining');
  if (finishes) finish();
  await time.advance(1000);
  assert.equal(stopped, finishes);
}
