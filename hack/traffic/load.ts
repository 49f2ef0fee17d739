/**
 * An open-loop HTTP load for the traffic tests: requests are started on a fixed schedule (the rate of
 * the current step), whether or not earlier ones have answered, as real users arrive. Each request
 * opens its own connection (no keep-alive), so kube-proxy picks a backend per request and a pod going
 * away cannot strand a kept-alive connection: what is measured is the Service, not one socket.
 *
 * Bounded in rate, in time, and in requests in flight; a request that does not answer within
 * `timeoutMs` counts as failed.
 */
import { request } from 'node:http';

export interface LoadStep {
  /** Requests per second during this step (0 = a pause). */
  rps: number;
  seconds: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** Failures by cause: "HTTP 502", "ECONNREFUSED", "timeout"... */
  errors: Record<string, number>;
  /** Each failure: seconds since the start (when the request was due) and its cause. */
  failures: { at: number; cause: string }[];
  /** Milliseconds of each successful request, in start order. */
  latenciesMs: number[];
  /** Successful requests per value of the `X-Served-By`-style header named in options (e.g. the pod). */
  byServer: Record<string, number>;
  /** Per server: seconds since the start of its last successful answer (was a stopping pod still served?). */
  lastAnswerBy: Record<string, number>;
  /** Per second since the start: requests started, for plots. */
  perSecond: { second: number; sent: number; ok: number; failed: number }[];
}

export interface LoadOptions {
  url: string;
  steps: LoadStep[];
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /** Never more than this many requests in flight (default 500); more are counted as failed ("overload"). */
  maxInFlight?: number;
  /** A response header naming the server (pod) that answered, tallied in byServer. */
  serverHeader?: string;
  signal?: AbortSignal;
}

/** Hard limits, whatever a test asks: 1,000 requests a second, 10 minutes. */
const maxRps = 1000;
const maxSeconds = 600;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const totalSeconds = options.steps.reduce((s, step) => s + step.seconds, 0);
  if (totalSeconds > maxSeconds) throw new Error(`load of ${totalSeconds} s exceeds ${maxSeconds} s`);
  if (options.steps.some((s) => s.rps < 0 || s.rps > maxRps)) throw new Error(`rate outside 0..${maxRps}/s`);
  const result: LoadResult = {
    sent: 0,
    ok: 0,
    failed: 0,
    errors: {},
    failures: [],
    latenciesMs: [],
    byServer: {},
    lastAnswerBy: {},
    perSecond: [],
  };
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxInFlight = options.maxInFlight ?? 500;
  const started = performance.now();
  const second = (at: number) => {
    const s = Math.floor((at - started) / 1000);
    while (result.perSecond.length <= s)
      result.perSecond.push({ second: result.perSecond.length, sent: 0, ok: 0, failed: 0 });
    return result.perSecond[s] as LoadResult['perSecond'][number];
  };
  const fail = (cause: string, at: number) => {
    result.failed++;
    result.errors[cause] = (result.errors[cause] ?? 0) + 1;
    result.failures.push({ at: Math.round(at - started) / 1000, cause });
    second(at).failed++;
  };
  let inFlight = 0;
  const pending: Promise<void>[] = [];
  const one = (at: number, t0 = performance.now()): Promise<void> =>
    new Promise((resolve) => {
      inFlight++;
      const req = request(
        options.url,
        { agent: false, timeout: timeoutMs, headers: { connection: 'close' } },
        (res) => {
          res.resume();
          res.on('end', () => {
            inFlight--;
            if (res.statusCode === 200) {
              result.ok++;
              second(at).ok++;
              result.latenciesMs.push(performance.now() - t0);
              const server = options.serverHeader
                ? res.headers[options.serverHeader.toLowerCase()]
                : undefined;
              if (typeof server === 'string') {
                result.byServer[server] = (result.byServer[server] ?? 0) + 1;
                result.lastAnswerBy[server] = Math.round(performance.now() - started) / 1000;
              }
            } else {
              fail(`HTTP ${res.statusCode}`, at);
            }
            resolve();
          });
          res.on('error', (err) => {
            inFlight--;
            fail((err as NodeJS.ErrnoException).code ?? err.message, at);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        inFlight--;
        fail((err as NodeJS.ErrnoException).code ?? err.message, at);
        resolve();
      });
      req.end();
    });

  let stepStart = started;
  for (const step of options.steps) {
    const count = Math.round(step.rps * step.seconds);
    for (let i = 0; i < count; i++) {
      if (options.signal?.aborted) break;
      const due = stepStart + (i * 1000) / step.rps;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      result.sent++;
      second(due).sent++;
      if (inFlight >= maxInFlight) {
        fail('overload', due);
        continue;
      }
      pending.push(one(due));
    }
    stepStart += step.seconds * 1000;
    const wait = stepStart - performance.now();
    if (wait > 1 && !options.signal?.aborted) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(pending);
  return result;
}

/** The p-th percentile (0-100) of `values`, by nearest rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** One line for the test output: sent, failed, p50/p99. */
export function describeLoad(what: string, r: LoadResult): string {
  const p = (x: number) => (Number.isNaN(x) ? '-' : `${x.toFixed(1)} ms`);
  const errors = Object.entries(r.errors)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `# ${what}: sent=${r.sent} ok=${r.ok} failed=${r.failed}${errors ? ` (${errors})` : ''} p50=${p(percentile(r.latenciesMs, 50))} p99=${p(percentile(r.latenciesMs, 99))}`;
}
