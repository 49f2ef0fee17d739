/**
 * The statistics the report rests on, small enough to check by hand and unit-tested
 * (test/unit/bench-stats.test.ts): medians, paired ratios with 95% bootstrap intervals, a
 * least-squares slope, and verdicts with stated margins.
 *
 * Why paired ratios: runs alternate peers in ABBA order, so run i of one peer and run i of another
 * saw nearly the same machine load. The ratio of each pair cancels most of the load both shared,
 * which a ratio of two medians does not. The point estimate is the geometric mean of the pair
 * ratios (ratios are multiplicative: 2× and 0.5× average to 1×); the interval is a percentile
 * bootstrap over pairs with a fixed seed, so the same runs always give the same interval.
 * With 5 pairs a percentile bootstrap is somewhat too narrow; the report says so.
 */

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile (type 7, as R and numpy default); NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return (s[lo] as number) + (h - lo) * ((s[hi] as number) - (s[lo] as number));
}

/** A small seeded PRNG (mulberry32): reproducible resampling without a dependency. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Interval {
  /** The statistic on the sample itself. */
  estimate: number;
  lo: number;
  hi: number;
  /** Sample size (pairs for a paired ratio). */
  n: number;
}

export interface BootstrapOptions {
  iterations?: number;
  /** 0.95 for a 95% interval. */
  level?: number;
  seed?: number;
}

/** Percentile bootstrap interval of `statistic` over `sample`. */
export function bootstrap<T>(
  sample: readonly T[],
  statistic: (resample: readonly T[]) => number,
  { iterations = 10_000, level = 0.95, seed = 12 }: BootstrapOptions = {},
): Interval {
  const n = sample.length;
  if (n === 0) return { estimate: Number.NaN, lo: Number.NaN, hi: Number.NaN, n: 0 };
  const random = seededRandom(seed);
  const stats: number[] = [];
  const resample: T[] = new Array(n);
  for (let i = 0; i < iterations; i++) {
    for (let j = 0; j < n; j++) resample[j] = sample[Math.floor(random() * n)] as T;
    stats.push(statistic(resample));
  }
  const tail = (1 - level) / 2;
  return { estimate: statistic(sample), lo: quantile(stats, tail), hi: quantile(stats, 1 - tail), n };
}

const geometricMean = (xs: readonly number[]) =>
  Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

/**
 * Paired ratio a/b: run i of `a` with run i of `b` (the same ABBA round). Pairs where either side is
 * missing or not positive are left out (a ratio of zeros says nothing); undefined if none is left.
 */
export function pairedRatio(
  a: readonly number[],
  b: readonly number[],
  options?: BootstrapOptions,
): Interval | undefined {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isFinite(x) && Number.isFinite(y) && x > 0 && y > 0) ratios.push(x / y);
  }
  if (ratios.length === 0) return undefined;
  return bootstrap(ratios, geometricMean, options);
}

/** Interval of the median of one sample (for absolute goals such as idle RSS ≤ 65 MiB). */
export function medianInterval(values: readonly number[], options?: BootstrapOptions): Interval | undefined {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? undefined : bootstrap(finite, median, options);
}

/** Least-squares slope of y on x; NaN with fewer than two distinct x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  const mx = xs.slice(0, n).reduce((s, x) => s + x, 0) / n;
  const my = ys.slice(0, n).reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    sxx += ((xs[i] as number) - mx) ** 2;
  }
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

export type Verdict = 'met' | 'not met' | 'undecided' | 'no data';

/**
 * A goal "at most `limit`" judged on an interval: met when even its upper bound is within the
 * limit, not met when even its lower bound is beyond it, undecided when the interval straddles it
 * (more runs or a quieter machine would tell).
 */
export function verdictAtMost(interval: Interval | undefined, limit: number): Verdict {
  if (!interval || !Number.isFinite(interval.hi)) return 'no data';
  if (interval.hi <= limit) return 'met';
  if (interval.lo > limit) return 'not met';
  return 'undecided';
}
