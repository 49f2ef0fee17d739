/**
 * Idle memory release (src/runtime/memory/idle-release.ts): a memory-reducing collection runs only
 * when the event loop went quiet and the heap grew since the last one, paced so that releases take
 * at most 1% of the time; and
 * against real V8 (a child node with --expose-gc) it gives back what a burst of work left committed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Release, startIdleRelease } from '../../src/runtime/memory/idle-release.ts';
import { silentLog as silent } from './support/config.ts';
import { FakeClock } from './support/fake-clock.ts';

const MiB = 1024 * 1024;
const run = promisify(execFile);

/** A scripted process: the test sets how busy the loop was and how big the heap is. */
function scripted(options: { minIntervalMs?: number } = {}) {
  const clock = new FakeClock();
  const state = { busy: 0, heap: 20 * MiB, collections: 0 };
  const releases: Release[] = [];
  const stop = new AbortController();
  startIdleRelease(
    {
      log: silent,
      clock,
      gc: (() => {
        state.collections++;
        state.heap = 12 * MiB; // what a collection leaves
      }) as NodeJS.GCFunction,
      heapCommitted: () => state.heap,
      utilization: () => state.busy,
      minIntervalMs: options.minIntervalMs,
      onRelease: (r) => releases.push(r),
    },
    stop.signal,
  );
  return { clock, state, releases, stop };
}

describe('idle memory release: when it collects', () => {
  test('not while the loop is busy; once it is quiet after the heap grew, one collection', async () => {
    const p = scripted();
    p.state.busy = 0.6;
    p.state.heap = 60 * MiB;
    await p.clock.advance(10_000);
    assert.equal(p.state.collections, 0, 'a busy loop is never interrupted');
    p.state.busy = 0.01;
    await p.clock.advance(2000);
    assert.equal(p.state.collections, 1);
    assert.deepEqual(
      p.releases.map((r) => [r.beforeBytes / MiB, r.afterBytes / MiB]),
      [[60, 12]],
    );
    await p.clock.advance(120_000);
    assert.equal(p.state.collections, 1, 'quiet with no new growth: nothing more to give back');
    p.stop.abort();
  });

  test('growth under the threshold is left alone', async () => {
    const p = scripted();
    p.state.heap = 20.75 * MiB; // 0.75 MiB above the 20 it started at
    await p.clock.advance(60_000);
    assert.equal(p.state.collections, 0);
    p.state.heap = 21 * MiB;
    await p.clock.advance(2000);
    assert.equal(p.state.collections, 1, '1 MiB of growth is enough');
    p.stop.abort();
  });

  /** Releases that take `durations` ms in turn (the last repeats), on a clock that moves by that much. */
  async function pacedReleases(durations: number[], options: { maxShare?: number } = {}) {
    const clock = new FakeClock();
    let gcMs = 0; // added to every reading of the clock the release reads: the collections' time
    const timed = {
      now: () => clock.now() + gcMs,
      wall: () => clock.wall(),
      setTimer: clock.setTimer.bind(clock),
    };
    const state = { heap: 20 * MiB, at: [] as number[] };
    const stop = new AbortController();
    startIdleRelease(
      {
        log: silent,
        clock: timed,
        gc: (() => {
          state.at.push(clock.now());
          gcMs += durations[Math.min(state.at.length, durations.length) - 1] ?? 0;
          state.heap = 12 * MiB;
        }) as NodeJS.GCFunction,
        heapCommitted: () => state.heap,
        utilization: () => 0,
        maxShare: options.maxShare,
      },
      stop.signal,
    );
    const start = clock.now();
    for (let t = 0; t < 40_000; t += 2000) {
      state.heap = 40 * MiB; // each quiet spell follows work that grew the heap
      await clock.advance(2000);
    }
    stop.abort();
    return state.at.map((at) => (at - start) / 1000);
  }

  test('paced by what releases cost: after one of d ms, none for 100 d', async () => {
    assert.deepEqual(
      await pacedReleases([150, 50]),
      [2, 18, 24, 30, 36],
      'a 150 ms release, then none for 15 s; a 50 ms one, then none for 5 s (checks every 2 s)',
    );
    assert.deepEqual(
      await pacedReleases([100], { maxShare: 0.02 }),
      [2, 8, 14, 20, 26, 32, 38],
      'a share of 2%: a 100 ms release, then none for 5 s',
    );
    assert.throws(
      () =>
        startIdleRelease(
          { log: silent, gc: (() => {}) as NodeJS.GCFunction, maxShare: 0 },
          new AbortController().signal,
        ),
      RangeError,
    );
  });

  test('at most one collection per interval, however often work and quiet alternate', async () => {
    const p = scripted({ minIntervalMs: 30_000 });
    for (let i = 0; i < 30; i++) {
      p.state.busy = 0.5; // a spell of work grows the heap again
      p.state.heap = 50 * MiB;
      await p.clock.advance(2000);
      p.state.busy = 0; // then 2 s of quiet
      await p.clock.advance(2000);
    }
    assert.equal(
      p.state.collections,
      4,
      '120 s of alternating work and quiet, minIntervalMs 30 s: one at 4 s, then one every 30 s',
    );
    p.stop.abort();
  });

  test('growth counts from the lowest the heap went, also when V8 shrank it by itself', async () => {
    const p = scripted();
    p.state.heap = 60 * MiB;
    await p.clock.advance(2000);
    assert.equal(p.state.collections, 1, 'down to 12 MiB');
    p.state.heap = 6 * MiB; // V8's own collections shrank it further
    await p.clock.advance(2000);
    p.state.heap = 12.5 * MiB; // 6.5 MiB of regrowth, though only 0.5 above what the release left
    await p.clock.advance(2000);
    assert.equal(p.state.collections, 2);
    p.stop.abort();
  });

  test('a native trim runs after each collection, inside the time the pacing charges', async () => {
    const clock = new FakeClock();
    const stop = new AbortController();
    const calls: string[] = [];
    let heap = 12 * MiB;
    let extraMs = 0; // time the release itself takes, read by the clock it uses
    const releases: Release[] = [];
    startIdleRelease(
      {
        log: silent,
        clock: {
          now: () => clock.now() + extraMs,
          wall: () => clock.wall(),
          setTimer: clock.setTimer.bind(clock),
        },
        gc: (() => {
          calls.push('gc');
          heap = 12 * MiB;
          extraMs += 20;
        }) as NodeJS.GCFunction,
        trimNative: () => {
          calls.push('trim');
          extraMs += 30;
          return calls.length < 3; // gives memory back the first time only
        },
        heapCommitted: () => heap,
        utilization: () => 0,
        onRelease: (r) => releases.push(r),
      },
      stop.signal,
    );
    heap = 40 * MiB; // work grew it
    await clock.advance(2000);
    assert.deepEqual(
      calls,
      ['gc', 'trim'],
      'the trim follows the collection, which frees the Buffers it hands back',
    );
    assert.deepEqual(
      releases.map((r) => [r.durationMs, r.nativeTrimmed]),
      [[50, true]],
      'the release took the collection and the trim: 50 ms',
    );
    heap = 40 * MiB;
    await clock.advance(2000);
    assert.equal(releases.length, 1, '50 ms at 1%: none for 5 s');
    await clock.advance(4000);
    assert.deepEqual(
      releases.map((r) => r.nativeTrimmed),
      [true, false],
    );
    stop.abort();
  });

  test('a check that throws is logged and the next one still runs', async () => {
    const clock = new FakeClock();
    const stop = new AbortController();
    let checks = 0;
    const failing = () => {
      checks++;
      throw new Error('boom');
    };
    startIdleRelease(
      {
        log: silent,
        clock,
        gc: (() => {}) as NodeJS.GCFunction,
        heapCommitted: () => 0,
        utilization: failing,
      },
      stop.signal,
    );
    await clock.advance(6000);
    assert.equal(checks, 3, 'every 2 s, despite the throws');
    stop.abort();
    assert.equal(clock.pending, 0);
  });

  test('stops with its signal, and without --expose-gc it never arms a timer', async () => {
    const p = scripted();
    p.stop.abort();
    p.state.heap = 80 * MiB;
    await p.clock.advance(60_000);
    assert.equal(p.state.collections, 0);
    assert.equal(p.clock.pending, 0);

    const clock = new FakeClock();
    startIdleRelease({ log: silent, clock, gc: undefined }, new AbortController().signal);
    assert.equal(clock.pending, 0);
  });
});

describe('idle memory release: on real V8', () => {
  // A child grows its heap with a burst of short-lived objects (as a big list does), then goes idle.
  const child = `
    import v8 from 'node:v8';
    import { startIdleRelease } from ${JSON.stringify(new URL('../../src/runtime/memory/idle-release.ts', import.meta.url).href)};
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    const committed = () => v8.getHeapStatistics().total_heap_size;
    const stop = new AbortController();
    let before = 0;
    startIdleRelease({ log, gc: globalThis.gc, checkEveryMs: 200, onRelease: (r) => {
      console.log(JSON.stringify({ before, release: r }));
      stop.abort();
    } }, stop.signal);
    let keep = [];
    for (let round = 0; round < 40; round++) {
      keep.push(Array.from({ length: 20000 }, (_, i) => ({ i, s: 'x'.repeat(20) + i })));
      if (keep.length > 8) keep.shift();
    }
    keep = [];
    before = committed();
    setTimeout(() => { console.log(JSON.stringify({ before, release: null })); stop.abort(); }, 10000).unref();
  `;

  test('a quiet process gives back the heap a burst of work left committed', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--max-semi-space-size=8', '--input-type=module', '-e', child],
      { timeout: 30_000 },
    );
    const out = JSON.parse(stdout.trim()) as { before: number; release: Release | null };
    assert.ok(out.release, `no release within 10 s (committed heap ${(out.before / MiB).toFixed(1)} MiB)`);
    assert.ok(
      out.release.beforeBytes - out.release.afterBytes >= 8 * MiB,
      `gave back at least 8 MiB: ${JSON.stringify(out.release)}`,
    );
  });
});
