/**
 * From runs to figures: one number per peer and ABBA round for every figure the report and
 * latest.json show (NaN where a run failed, so rounds stay paired), and the goals of the benchmark
 * issue with their margins. Nothing here is measured, only derived.
 */
import { type PeerName, peerNames } from './peers.ts';
import type { BurstResult } from './scenarios/burst.ts';
import { percentile } from './scenarios/burst.ts';
import type { RawLimitResult } from './scenarios/raw-limit.ts';
import type { RealQpsResult } from './scenarios/real-qps.ts';
import type { ScaleResult } from './scenarios/scale.ts';
import { slope } from './stats.ts';

export interface BenchConfig {
  runs: number;
  burstObjects: number;
  burstNamespaces: number;
  updates: number;
  idleSeconds: number;
  scalePoints: number[];
  unrelated: number;
  scaleNamespaces: number;
  settleSamples: number;
  settleMaxSeconds: number;
  rawLevels: number[];
  rawRuns: number;
  realQpsObjects: number;
  realQpsRuns: number;
  /** One untimed burst per peer with the audit log on, for requests by verb and resource. */
  breakdown: boolean;
}

export interface Runs {
  /** Per peer, one entry per ABBA round (undefined where the run failed). */
  burst: Record<PeerName, (BurstResult | undefined)[]>;
  /** Per peer and state (stateKey), one entry per round. */
  scale: Record<PeerName, Record<string, (ScaleResult | undefined)[]>>;
  realQps: Record<PeerName, (RealQpsResult | undefined)[]>;
  raw: RawLimitResult[];
  /** Untimed audit-log run per peer: requests per ElasticWeb by "verb resource". */
  breakdown: Partial<Record<PeerName, Record<string, number>>>;
  /** A bare `node` that has loaded https, same node flags as ours: the floor of idle RSS. */
  bareNodeRssMiB: number;
}

export const stateKey = (objects: number, unrelated = 0) =>
  unrelated ? `${objects}+${unrelated}` : `${objects}`;
/** The point with the unrelated objects: 10,000, or the largest point below it (scale.ts headlineObjects). */
export const headlineState = (c: BenchConfig) =>
  stateKey(Math.max(...c.scalePoints.filter((n) => n <= 10_000)), c.unrelated);

export type PerPeer = Record<PeerName, number[]>;

/** Every figure: per peer, one value per round. */
export function figures(runs: Runs, c: BenchConfig): Record<string, PerPeer> {
  const per = <T>(src: Record<PeerName, (T | undefined)[]>, f: (r: T) => number): PerPeer =>
    Object.fromEntries(peerNames.map((p) => [p, src[p].map((r) => (r ? f(r) : Number.NaN))])) as PerPeer;
  const atState = (key: string) =>
    Object.fromEntries(peerNames.map((p) => [p, runs.scale[p][key] ?? []])) as Record<
      PeerName,
      (ScaleResult | undefined)[]
    >;
  const p = (xs: number[], q: number) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      q,
    );
  const head = atState(headlineState(c));
  const oneK = atState(stateKey(1000));
  const perK = c.burstObjects / 1000;
  return {
    // Kept keys (meanings in bench/README.md).
    burst_converge_s: per(runs.burst, (r) => r.burstSeconds),
    update_latency_p50_ms: per(runs.burst, (r) => p(r.updateLatenciesMs, 50)),
    update_latency_p99_ms: per(runs.burst, (r) => p(r.updateLatenciesMs, 99)),
    idle_writes_per_min: per(runs.burst, (r) => r.idleWritesPerMinute),
    rss_mb_10k: per(head, (r) => r.rssMiB),
    restart_s_10k: per(head, (r) => r.restartSeconds),
    requests_per_object: per(runs.burst, (r) => r.clientRequestsPerObject),
    burst_operator_cpu_s: per(runs.burst, (r) => r.cpu.operator),
    burst_apiserver_cpu_s: per(runs.burst, (r) => r.cpu.apiServer),
    burst_etcd_cpu_s: per(runs.burst, (r) => r.cpu.etcd),
    requests_per_object_client_metric: per(runs.burst, (r) => r.clientRequestsPerObject),
    idle_requests_per_min: per(runs.burst, (r) => r.idleRequestsPerMinute),
    peak_rss_mb_10k: per(head, (r) => r.peakRssMiB),
    writes_during_restart_10k: per(head, (r) => r.writes),
    metrics_scrape_ms_10k: per(head, (r) => r.scrapeMs),
    rss_mb_1_object: per(runs.burst, (r) => r.rssOneMiB),
    rss_mb_burst_idle: per(runs.burst, (r) => r.rssIdleMiB),
    // New keys.
    burst_status_s: per(runs.burst, (r) => r.burstStatusSeconds),
    update_children_p50_ms: per(runs.burst, (r) => p(r.updateChildrenLatenciesMs, 50)),
    update_children_p99_ms: per(runs.burst, (r) => p(r.updateChildrenLatenciesMs, 99)),
    writes_per_object: per(runs.burst, (r) => r.clientWritesPerObject),
    operator_cpu_s_per_1k: per(runs.burst, (r) => r.cpu.operator / perK),
    apiserver_cpu_s_per_1k: per(runs.burst, (r) => r.cpu.apiServer / perK),
    rss_mb_idle: per(runs.burst, (r) => r.rssIdleSettledMiB),
    rss_mb_1k: per(oneK, (r) => r.rssMiB),
    rss_mib_per_1k: slopes(runs, c, (r) => r.rssMiB),
    restart_s_per_1k: slopes(runs, c, (r) => r.restartSeconds),
    restart_cpu_s_10k: per(head, (r) => r.restartCpuSeconds),
    real_qps_s: per(runs.realQps, (r) => r.realQpsSeconds),
    pods_ready_s: per(runs.realQps, (r) => r.podsReadySeconds),
  };
}

/** Per round, the least-squares slope of `f` over the curve's points, per 1,000 ElasticWebs. */
function slopes(runs: Runs, c: BenchConfig, f: (r: ScaleResult) => number): PerPeer {
  return Object.fromEntries(
    peerNames.map((p) => [
      p,
      Array.from({ length: c.runs }, (_, round) => {
        const xs: number[] = [];
        const ys: number[] = [];
        for (const n of c.scalePoints) {
          const r = runs.scale[p][stateKey(n)]?.[round];
          if (r && Number.isFinite(f(r))) {
            xs.push(n);
            ys.push(f(r));
          }
        }
        return xs.length >= 2 ? slope(xs, ys) * 1000 : Number.NaN;
      }),
    ]),
  ) as PerPeer;
}

export interface Goal {
  key: string;
  text: string;
  /** At most this ratio to the better Go peer, or (absolute) at most this value. */
  limit: number;
  absolute?: boolean;
}

/** The goals of the benchmark issue, each against the better of the two Go peers (or absolute). */
export const goals: Goal[] = [
  { key: 'burst_status_s', text: '≤ 0.8×', limit: 0.8 },
  { key: 'update_latency_p99_ms', text: 'no worse (≤ 1.10×)', limit: 1.1 },
  { key: 'restart_s_10k', text: 'no worse (≤ 1.10×)', limit: 1.1 },
  { key: 'operator_cpu_s_per_1k', text: '≤ 1.0×', limit: 1.0 },
  { key: 'rss_mb_1k', text: '≤ 1.5×', limit: 1.5 },
  { key: 'rss_mb_10k', text: '≤ 0.8×', limit: 0.8 },
  { key: 'rss_mib_per_1k', text: '≤ 0.6×', limit: 0.6 },
  { key: 'rss_mb_idle', text: '≤ 65 MiB', limit: 65, absolute: true },
];
