import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bootstrap,
  median,
  medianInterval,
  pairedRatio,
  quantile,
  seededRandom,
  slope,
  verdictAtMost,
} from '../../bench/stats.ts';

describe('bench statistics', () => {
  test('median and quantiles interpolate, ignore NaN, and are NaN for nothing', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(quantile([0, 10], 0.25), 2.5);
    assert.equal(median([1, Number.NaN, 3]), 2);
    assert.ok(Number.isNaN(median([])));
  });

  test('the seeded generator repeats itself and stays in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => b()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  });

  test('a constant paired ratio has a point interval at that ratio', () => {
    const r = pairedRatio([2, 4, 6, 8, 10], [1, 2, 3, 4, 5]);
    assert.ok(r);
    assert.equal(r.n, 5);
    for (const v of [r.estimate, r.lo, r.hi]) assert.ok(Math.abs(v - 2) < 1e-12);
  });

  test('the paired ratio is a geometric mean, and its interval holds it and is reproducible', () => {
    const a = [1.1, 0.9, 1.3, 1.0, 1.2];
    const b = [1, 1, 1, 1, 1];
    const r = pairedRatio(a, b);
    assert.ok(r);
    const geo = Math.exp(a.reduce((s, x) => s + Math.log(x), 0) / a.length);
    assert.ok(Math.abs(r.estimate - geo) < 1e-12);
    assert.ok(r.lo <= r.estimate && r.estimate <= r.hi);
    assert.ok(r.lo >= 0.9 && r.hi <= 1.3);
    assert.deepEqual(pairedRatio(a, b), r);
    // 2× and 0.5× balance out.
    assert.ok(Math.abs((pairedRatio([2, 1], [1, 2])?.estimate ?? 0) - 1) < 1e-12);
  });

  test('pairs with a zero or a missing side are left out', () => {
    assert.equal(pairedRatio([0, 0], [0, 0]), undefined);
    assert.equal(pairedRatio([2, 0, 3], [1, 5, Number.NaN])?.n, 1);
    assert.equal(pairedRatio([2, 2, 2], [1])?.n, 1);
  });

  test('the bootstrap interval of a mean covers the truth about 95% of the time', () => {
    // 200 samples of 30 from N(0, 1) by Box-Muller: coverage of the true mean 0.
    const random = seededRandom(99);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    let covered = 0;
    for (let k = 0; k < 200; k++) {
      const sample = Array.from({ length: 30 }, normal);
      const ci = bootstrap(sample, mean, { iterations: 1000, seed: k });
      if (ci.lo <= 0 && 0 <= ci.hi) covered++;
    }
    assert.ok(covered >= 175 && covered <= 198, `covered ${covered}/200`);
  });

  test('median interval and slope', () => {
    const m = medianInterval([60, 62, 61, 63, 64]);
    assert.ok(m && m.estimate === 62 && m.lo >= 60 && m.hi <= 64);
    assert.equal(medianInterval([]), undefined);
    // 10 MiB per 1,000 objects over 50 MiB: the slope per object is 0.01.
    assert.ok(Math.abs(slope([100, 1000, 3000, 10000], [51, 60, 80, 150]) - 0.01) < 1e-12);
    assert.ok(Math.abs(slope([0, 1, 2, 3], [1, 3, 5, 7]) - 2) < 1e-12);
    assert.ok(Number.isNaN(slope([1, 1], [2, 3])));
    assert.ok(Number.isNaN(slope([1], [2])));
  });

  test('verdicts: met only when the whole interval is within the limit', () => {
    const ci = (lo: number, hi: number) => ({ estimate: (lo + hi) / 2, lo, hi, n: 5 });
    assert.equal(verdictAtMost(ci(0.7, 0.79), 0.8), 'met');
    assert.equal(verdictAtMost(ci(0.7, 0.85), 0.8), 'undecided');
    assert.equal(verdictAtMost(ci(0.81, 0.9), 0.8), 'not met');
    assert.equal(verdictAtMost(undefined, 0.8), 'no data');
  });
});
