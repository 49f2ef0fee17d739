/**
 * Turns the runs into bench/results/latest.{json,md} and its SVG charts. Every figure is a median over
 * runs with its min and max; ratios are paired (run i of ours with run i of the other peer, the same
 * ABBA round) with a 95% bootstrap interval (stats.ts). Nothing here is measured, only summarised.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BenchConfig,
  figures,
  goals,
  headlineState,
  type PerPeer,
  type Runs,
  stateKey,
} from './figures.ts';
import { type PeerName, peerLabel, peerNames } from './peers.ts';
import type { BurstResult } from './scenarios/burst.ts';
import {
  type Interval,
  median,
  medianInterval,
  pairedRatio,
  quantile,
  type Verdict,
  verdictAtMost,
} from './stats.ts';
import { chartSvg, type Series } from './svg.ts';

export type { Runs } from './figures.ts';

export interface Meta {
  mode: 'full' | 'quick';
  config: BenchConfig;
  machine: { cores: number; memoryGiB: number; cpuModel: string; kernel: string; loadAtStart: number[] };
  kubernetes: string;
  node: string;
  go: string;
  commit: string;
  startedAt: string;
  durationSeconds: number;
  /** Runs that failed and are left out of the figures. */
  failures: string[];
}

const colours: Record<PeerName, string> = { ts: '#1f6feb', go_best: '#2f9e44', go: '#d9480f' };

const r3 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);
const minMax = (xs: number[]) => {
  const f = xs.filter(Number.isFinite);
  return f.length ? [Math.min(...f), Math.max(...f)] : [Number.NaN, Number.NaN];
};

export interface GoalResult {
  key: string;
  text: string;
  /** The Go peer compared with (the better median), or 'absolute'. */
  against: PeerName | 'absolute';
  interval: Interval | undefined;
  verdict: Verdict;
}

export function evaluateGoals(m: Record<string, PerPeer>): GoalResult[] {
  return goals.map((g) => {
    const v = m[g.key] as PerPeer;
    if (g.absolute) {
      const interval = medianInterval(v.ts);
      return {
        key: g.key,
        text: g.text,
        against: 'absolute',
        interval,
        verdict: verdictAtMost(interval, g.limit),
      };
    }
    const against: PeerName = median(v.go) < median(v.go_best) ? 'go' : 'go_best';
    const interval = pairedRatio(v.ts, v[against]);
    return { key: g.key, text: g.text, against, interval, verdict: verdictAtMost(interval, g.limit) };
  });
}

export function writeReport(runs: Runs, meta: Meta, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  const c = meta.config;
  const m = figures(runs, c);
  const goalResults = evaluateGoals(m);
  const rawBest = runs.raw.map((r) => r.best);
  const rawChildren = median(rawBest.map((b) => b.seconds));
  const rawStatus = median(rawBest.map((b) => b.statusSeconds));

  const json: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(m)) {
    json[key] = Object.fromEntries(peerNames.map((p) => [p, r3(median(v[p]))]));
  }
  json.raw_limit_converge_s = r3(rawChildren);
  json.raw_limit_status_s = r3(rawStatus);
  json.raw_limit_per_s = r3(median(rawBest.map((b) => b.perSecond)));
  json.raw_limit_concurrency = median(rawBest.map((b) => b.concurrency));
  const tutorialWrites = runs.raw.map((r) => r.tutorialWrites).filter((p) => p !== undefined);
  json.raw_limit_go_writes_converge_s = tutorialWrites.length
    ? r3(median(tutorialWrites.map((p) => p.seconds)))
    : null;
  json.raw_limit_go_writes_status_s = tutorialWrites.length
    ? r3(median(tutorialWrites.map((p) => p.statusSeconds)))
    : null;
  json.burst_fraction_of_raw_limit = r3(rawChildren / median(m.burst_converge_s?.ts ?? []));
  json.burst_status_fraction_of_raw_limit = r3(rawStatus / median(m.burst_status_s?.ts ?? []));
  json.bare_node_https_rss_mb = r3(runs.bareNodeRssMiB);
  json.ratio_ci = Object.fromEntries(
    Object.entries(m).map(([key, v]) => [key, intervalJson(pairedRatio(v.ts, v.go_best))]),
  );
  json.goals = goalResults.map((g) => ({ ...g, interval: intervalJson(g.interval) }));
  json.scale_curve = scaleCurve(runs, c);
  json.min_max = Object.fromEntries(
    Object.entries(m).map(([key, v]) => [
      key,
      Object.fromEntries(peerNames.map((p) => [p, minMax(v[p]).map(r3)])),
    ]),
  );
  json.runs = Object.fromEntries(
    Object.entries(m).map(([key, v]) => [key, Object.fromEntries(peerNames.map((p) => [p, v[p].map(r3)]))]),
  );
  json.raw_limit_runs = runs.raw.map((r) =>
    r.points.map((p) => ({
      concurrency: p.concurrency,
      seconds: r3(p.seconds),
      status_seconds: r3(p.statusSeconds),
      per_s: r3(p.perSecond),
      apiserver_cores: r3(p.apiServerCores),
      etcd_cores: r3(p.etcdCores),
      bench_cores: r3(p.clientCores),
      rejected_429: p.rejected,
    })),
  );
  json.restart_clock = Object.fromEntries(
    peerNames.map((p) => [p, runs.scale[p][headlineState(c)]?.find((r) => r)?.restartClock ?? null]),
  );
  json.request_breakdown_per_object = runs.breakdown;
  json.meta = meta;
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(outDir, 'burst.svg'), burstSvg(runs, c));
  writeFileSync(join(outDir, 'scale-rss.svg'), scaleSvg(runs, c, 'rss'));
  writeFileSync(join(outDir, 'scale-restart.svg'), scaleSvg(runs, c, 'restart'));
  writeFileSync(join(outDir, 'raw-limit.svg'), rawSvg(runs));
  writeFileSync(join(outDir, 'latest.md'), markdown(runs, meta, m, goalResults, json));
}

function intervalJson(i: Interval | undefined) {
  return i ? { ratio: r3(i.estimate), lo: r3(i.lo), hi: r3(i.hi), pairs: i.n } : null;
}

/** One entry per N: medians per peer of settled RSS, restart and its CPU. */
function scaleCurve(runs: Runs, c: BenchConfig) {
  return c.scalePoints.map((n) => {
    const med = (f: (r: { rssMiB: number; restartSeconds: number; restartCpuSeconds: number }) => number) =>
      Object.fromEntries(
        peerNames.map((p) => [
          p,
          r3(median((runs.scale[p][stateKey(n)] ?? []).map((r) => (r ? f(r) : Number.NaN)))),
        ]),
      );
    return {
      objects: n,
      rss_mb: med((r) => r.rssMiB),
      restart_s: med((r) => r.restartSeconds),
      restart_cpu_s: med((r) => r.restartCpuSeconds),
    };
  });
}

// ---- markdown --------------------------------------------------------------------------------------

function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}

function cell(values: number[]): string {
  const [lo, hi] = minMax(values);
  return `**${fmt(median(values))}** (${fmt(lo)}–${fmt(hi)})`;
}

function valueCell(i: Interval | undefined, unit: string): string {
  return i ? `${fmt(i.estimate)} ${unit} [${fmt(i.lo)}, ${fmt(i.hi)}]` : '—';
}

export function ratioCell(i: Interval | undefined): string {
  return i ? `${fmt(i.estimate)}× [${fmt(i.lo)}, ${fmt(i.hi)}]` : '—';
}

function markdown(
  runs: Runs,
  meta: Meta,
  m: Record<string, PerPeer>,
  goalResults: GoalResult[],
  json: Record<string, unknown>,
): string {
  const c = meta.config;
  const head = `| | ${peerLabel.ts} | ${peerLabel.go_best} | ${peerLabel.go} | ours / best Go, paired [95% CI] |\n|---|---|---|---|---|`;
  const row = (label: string, key: string) => {
    const v = m[key] as PerPeer;
    return `| ${label} | ${cell(v.ts)} | ${cell(v.go_best)} | ${cell(v.go)} | ${ratioCell(pairedRatio(v.ts, v.go_best))} |`;
  };
  const head10k = headlineState(c);
  const breakdownKeys = [...new Set(peerNames.flatMap((p) => Object.keys(runs.breakdown[p] ?? {})))];
  const curve = json.scale_curve as ReturnType<typeof scaleCurve>;
  const clock = json.restart_clock as Record<PeerName, string | null>;
  const load = meta.machine.loadAtStart.map((l) => l.toFixed(2)).join(', ');
  return `# ElasticWeb benchmark: ours (TypeScript) against the best Go peer

Generated by \`npm run bench${meta.mode === 'quick' ? ' -- --quick' : ''}\` on ${meta.startedAt}, in ${fmt(meta.durationSeconds / 60)} minutes.
${meta.mode === 'quick' ? '\n**Quick mode: smaller N and fewer runs, for checking the harness; not the reference figures.**\n' : ''}${
  meta.failures.length > 0
    ? `\n**${meta.failures.length} run(s) failed and are left out:**\n\n${meta.failures.map((f) => `- ${f}`).join('\n')}\n`
    : ''
}
Three peers, each at its defaults (5 workers, info-level JSON logs, its own ServiceAccount bound to
cluster-admin), as its Deployment runs it: **ours**; **Go, best practice** (\`bench/peer-go-best\`: the
comparison, label-scoped caches, managedFields stripped, POST on a miss, patch on drift, status only when
it changed; GOMEMLIMIT ${'460MiB'}); **Go, tutorial** (\`bench/baseline-go\`, the kubebuilder tutorial's
controller, for reference). ${c.runs} rounds in ABBA order (ours, best, tutorial, then reversed), each run
on a fresh local cluster (etcd + kube-apiserver, \`api\` mode unless said), no audit log in timed runs.
Cells: **median** (min–max) over runs. Ratios: geometric mean of the per-round ratios ours / best Go
peer, with a 95% percentile-bootstrap interval over rounds (10,000 resamples, fixed seed; with 5 rounds
such an interval is somewhat too narrow). Below 1 means ours is faster, smaller or cheaper.

- Machine: ${meta.machine.cores} cores (${meta.machine.cpuModel}), ${fmt(meta.machine.memoryGiB)} GiB, Linux ${meta.machine.kernel}; load average at start ${load}. Shared machine: expect noise.
- Kubernetes ${meta.kubernetes}, Node ${meta.node}, ${meta.go}. Commit \`${meta.commit}\`.

## Goals (against the better of the two Go peers)

A ratio goal is **met** when the whole 95% interval is within it, **not met** when the whole interval
is beyond it, **undecided** otherwise. "No worse" allows 10%: the upper bound must be ≤ 1.10.

| figure | goal | against | ours / that peer [95% CI] | verdict |
|---|---|---|---|---|
${goalResults
  .map(
    (g) =>
      `| \`${g.key}\` | ${g.text} | ${g.against === 'absolute' ? 'absolute: median of ours' : peerLabel[g.against]} | ${g.against === 'absolute' ? valueCell(g.interval, 'MiB') : ratioCell(g.interval)} | **${g.verdict}** |`,
  )
  .join('\n')}

Reference for idle memory: a bare \`node\` with ours' flags that has loaded \`https\` settles at
**${fmt(runs.bareNodeRssMiB)} MiB**.

## 1. Burst: ${c.burstObjects} ElasticWebs created at once

The bench creates ${c.burstObjects} ElasticWebs (${c.burstNamespaces} namespaces, no \`port\`, 3 replicas each) 50
requests at a time. Its own watcher (list+watch of Deployments, Services and ElasticWebs, as admin)
stamps when each ElasticWeb's **status** shows its children (ours and the best Go peer:
\`observedGeneration\` = \`generation\`, Available/Progressing/Degraded set for it, \`replicas\` and
\`nodePort\` shown; the tutorial's only status field, \`realQPS\`, shown), and when the **children** exist
(Deployment with 3 replicas, and its Service). Clocks from the first create. A warm-up object reaches
status first, and the API server is settled (under 0.1 core for 1 s). CPU and requests cover the burst
until the peer's request counter has stood still for 2 s; requests are the peer's own
\`rest_client_requests_total\` (the audit log is off).

${head}
${row('seconds until every status shows its children', 'burst_status_s')}
${row('seconds until every Deployment and Service exists', 'burst_converge_s')}
${row('operator CPU-seconds per 1,000 ElasticWebs', 'operator_cpu_s_per_1k')}
${row('kube-apiserver CPU-seconds during the burst', 'burst_apiserver_cpu_s')}
${row('etcd CPU-seconds during the burst', 'burst_etcd_cpu_s')}
${row('API requests per ElasticWeb (client metric)', 'requests_per_object')}
${row('of which writes', 'writes_per_object')}

![Statuses complete over time](burst.svg)

${
  breakdownKeys.length === 0
    ? 'The breakdown of requests by verb and resource (an untimed run per peer with the audit log on) is not run in quick mode.'
    : `Requests per ElasticWeb by verb and resource, from one extra, untimed run per peer with the audit log on:

| request | ${peerNames.map((p) => peerLabel[p]).join(' | ')} |
|---|---|---|---|
${breakdownKeys.map((k) => `| ${k} | ${peerNames.map((p) => fmt(runs.breakdown[p]?.[k] ?? 0)).join(' | ')} |`).join('\n')}`
}

## 2. Update latency (${c.updates} sequential totalQPS changes, ${c.burstObjects} converged and idle)

One ElasticWeb at a time: merge-patch \`spec.totalQPS\` 300 → 500, then wait until its status shows 5
replicas (for ours and the best Go peer, with the new \`observedGeneration\`). Timed with
\`performance.now()\` from just before the write to the watch event; p50 and p99 per run, then the
median over runs.

${head}
${row('p50 to status (ms)', 'update_latency_p50_ms')}
${row('p99 to status (ms)', 'update_latency_p99_ms')}
${row('p50 to the Deployment (ms)', 'update_children_p50_ms')}
${row('p99 to the Deployment (ms)', 'update_children_p99_ms')}

## 3. Idle (${c.idleSeconds} s with nothing changing, ${c.burstObjects} ElasticWebs)

From the peer's own \`rest_client_requests_total\` (writes: POST, PUT, PATCH, DELETE). Idle RSS: with
one ElasticWeb, caches synced, sampled every second until 5 samples lie within 2%.

${head}
${row('writes per minute', 'idle_writes_per_min')}
${row('all requests per minute', 'idle_requests_per_min')}
${row('settled RSS with 1 ElasticWeb (MiB)', 'rss_mb_idle')}
${row('RSS just after the warm-up object (MiB)', 'rss_mb_1_object')}
${row(`RSS at the end of the idle phase, ${c.burstObjects} ElasticWebs (MiB)`, 'rss_mb_burst_idle')}

## 4 and 5. How cost grows: restart and memory at ${c.scalePoints.join(', ')} ElasticWebs

Each state is written once per peer by the bench (\`children.ts\`: the objects and status *that* peer
writes), saved from etcd, and every run starts a fresh cluster on a copy. The peer is started once the
API server has settled, and must find nothing to do (writes are counted). **Restart**: from spawning
the process until every ElasticWeb has been verified (reconciled without error). Peers that export
\`elasticweb_verified_objects\` and \`elasticweb_verified_objects_last_timestamp_seconds\` are timed by
their own clock (ms resolution); others from outside, at the first 250 ms scrape that shows
\`controller_runtime_reconcile_total\` ≥ N with an empty queue and no busy worker. Clock used:
${peerNames.map((p) => `${peerLabel[p]}: ${clock[p] ?? '—'}`).join('; ')}. **Memory**: VmRSS sampled every
second after that, until ${c.settleSamples} samples lie within 2% (at most ${c.settleMaxSeconds} s).

| N | RSS MiB: ${peerNames.map((p) => peerLabel[p]).join(' / ')} | restart s: same order | restart CPU-s: same order |
|---|---|---|---|
${curve
  .map(
    (e) =>
      `| ${e.objects} | ${peerNames.map((p) => fmt(e.rss_mb[p] as number)).join(' / ')} | ${peerNames.map((p) => fmt(e.restart_s[p] as number)).join(' / ')} | ${peerNames.map((p) => fmt(e.restart_cpu_s[p] as number)).join(' / ')} |`,
  )
  .join('\n')}

${head}
${row('RSS slope, MiB per 1,000 ElasticWebs (least squares per run)', 'rss_mib_per_1k')}
${row('restart slope, seconds per 1,000 ElasticWebs', 'restart_s_per_1k')}
${row('settled RSS at 1,000 ElasticWebs (MiB)', 'rss_mb_1k')}

![RSS against N](scale-rss.svg)

![Restart against N](scale-restart.svg)

### ${c.unrelated ? `At ${head10k.replace('+', ' ElasticWebs + ')} unrelated Deployments and Services (headless Services, in other namespaces)` : `At ${head10k} ElasticWebs (quick mode: no unrelated objects; the keys \`*_10k\` hold this point)`}

${head}
${row('settled RSS (MiB)', 'rss_mb_10k')}
${row('peak RSS from start to settled (MiB)', 'peak_rss_mb_10k')}
${row('seconds from spawn until all verified', 'restart_s_10k')}
${row('CPU-seconds from spawn until all verified', 'restart_cpu_s_10k')}
${row('write requests during start-up (should be 0)', 'writes_during_restart_10k')}
${row('one /metrics scrape afterwards (ms)', 'metrics_scrape_ms_10k')}

## 6. Time to REAL-QPS (\`full\` mode: controller-manager, scheduler, kwok nodes)

${c.realQpsObjects} ElasticWebs created at once (3 pods each); clocks to every Deployment reporting 3 Ready
pods, and to every status showing \`realQPS\` = 300. The tutorial computes \`realQPS\` from the spec, not
from Ready pods, so its figure can come before the pods are Ready: it is not a measure of speed.

${head}
${row('seconds until every status shows REAL-QPS', 'real_qps_s')}
${row('seconds until every Deployment has its pods Ready', 'pods_ready_s')}

## 7. The limit on this machine

A client in the bench process with no controller logic (no informers, no queue, no drift check) makes
our writes for each new ElasticWeb (create the Deployment, the Service and the PodDisruptionBudget at
once, then merge-patch the status), fed straight from the create responses. Its concurrency is raised (each level on a fresh
cluster) until the throughput stops growing by 5% twice: kube-apiserver is then saturated.

| run | ${(runs.raw[0]?.points ?? []).map((p) => `c=${p.concurrency}`).join(' | ')} |
|---|${(runs.raw[0]?.points ?? []).map(() => '---').join('|')}|
${runs.raw.map((r, i) => `| ${i + 1}: ElasticWebs/s (cores: kube-apiserver, etcd, bench; 429s) | ${r.points.map((p) => `${fmt(p.perSecond)} (${fmt(p.apiServerCores)}, ${fmt(p.etcdCores)}, ${fmt(p.clientCores)}; ${p.rejected})`).join(' | ')} |`).join('\n')}

Best level, median over runs: **${fmt(json.raw_limit_per_s as number)} ElasticWebs/s** at concurrency ${json.raw_limit_concurrency},
${fmt(json.raw_limit_status_s as number)} s to status for ${c.burstObjects} (\`raw_limit_status_s\`), ${fmt(json.raw_limit_converge_s as number)} s to children
(\`raw_limit_converge_s\`). Our burst reaches ${fmt(100 * (json.burst_status_fraction_of_raw_limit as number))}% of it to status
(${fmt(100 * (json.burst_fraction_of_raw_limit as number))}% to children).

The same client at that concurrency making the tutorial's writes instead (Service, Deployment, status
PUT: 3 writes, no PodDisruptionBudget, no event): ${fmt(json.raw_limit_go_writes_status_s as number)} s to status
(\`raw_limit_go_writes_status_s\`), ${fmt(json.raw_limit_go_writes_converge_s as number)} s to children. Each limit holds only for its
own writes. ${burstBound(json, m)}

![Raw limit](raw-limit.svg)
`;
}

/**
 * Whether the burst goal (0.8x the better Go peer, to status) is reachable by any operator making our
 * writes on this machine: it is not when 0.8x that peer's time is under the raw limit for our writes.
 */
function burstBound(json: Record<string, unknown>, m: Record<string, PerPeer>): string {
  const limit = json.raw_limit_status_s as number;
  const peers = (['go_best', 'go'] as const).map((p) => ({ p, s: median(m.burst_status_s?.[p] ?? []) }));
  const better = peers.reduce((a, b) => (b.s < a.s ? b : a));
  const target = 0.8 * better.s;
  if (!Number.isFinite(limit) || !Number.isFinite(target)) return '';
  return target < limit
    ? `The burst goal, 0.8× the better peer (${better.p === 'go' ? 'the tutorial' : 'Go best'}, ${fmt(better.s)} s), is ${fmt(target)} s: under the ${fmt(limit)} s that our writes alone take at the limit, so no operator making them reaches it on this machine.`
    : `The burst goal, 0.8× the better peer (${fmt(better.s)} s), is ${fmt(target)} s: above the ${fmt(limit)} s our writes take at the limit, so it is within reach.`;
}

// ---- charts ----------------------------------------------------------------------------------------

function medianRun(results: (BurstResult | undefined)[]): BurstResult | undefined {
  const s = results
    .filter((r): r is BurstResult => r !== undefined)
    .sort((a, b) => a.burstStatusSeconds - b.burstStatusSeconds);
  return s[Math.floor((s.length - 1) / 2)];
}

const steps = (curve: number[]): [number, number][] => curve.map((t, i) => [t, i + 1]);

function burstSvg(runs: Runs, c: BenchConfig): string {
  const series: Series[] = [];
  for (const p of peerNames) {
    for (const r of runs.burst[p]) {
      if (r)
        series.push({
          label: '',
          colour: colours[p],
          points: steps(r.statusCurve),
          step: true,
          width: 1,
          opacity: 0.25,
          hidden: true,
        });
    }
    const med = medianRun(runs.burst[p]);
    if (med) {
      series.push({
        label: `${peerLabel[p]}: status`,
        colour: colours[p],
        points: steps(med.statusCurve),
        step: true,
        width: 2.5,
      });
      series.push({
        label: `${peerLabel[p]}: children`,
        colour: colours[p],
        points: steps(med.curve),
        step: true,
        width: 1.5,
        dash: '2,3',
      });
    }
  }
  const raw = runs.raw.map((r) => r.best).sort((a, b) => a.statusSeconds - b.statusSeconds)[
    Math.floor((runs.raw.length - 1) / 2)
  ];
  if (raw)
    series.push({
      label: 'raw limit (no controller), status',
      colour: '#555',
      points: steps(raw.curve),
      step: true,
      dash: '6,4',
    });
  return chartSvg({
    title: `Burst: ${c.burstObjects} ElasticWebs, statuses complete over time (bold: median run)`,
    xLabel: 'seconds since the first create',
    yLabel: 'ElasticWebs',
    series,
  });
}

function scaleSvg(runs: Runs, c: BenchConfig, what: 'rss' | 'restart'): string {
  const series: Series[] = peerNames.map((p) => ({
    label: peerLabel[p],
    colour: colours[p],
    points: c.scalePoints.map((n): [number, number] => {
      const rs = (runs.scale[p][stateKey(n)] ?? []).map((r) =>
        r ? (what === 'rss' ? r.rssMiB : r.restartSeconds) : Number.NaN,
      );
      return [n, median(rs)];
    }),
  }));
  return chartSvg({
    title:
      what === 'rss'
        ? 'Settled RSS against ElasticWebs (median of runs)'
        : 'Restart until all verified, against ElasticWebs (median)',
    xLabel: 'ElasticWebs',
    yLabel: what === 'rss' ? 'MiB' : 'seconds',
    series,
  });
}

function rawSvg(runs: Runs): string {
  return chartSvg({
    title: 'Raw limit: ElasticWebs per second to status, against client concurrency',
    xLabel: 'concurrent workers',
    yLabel: 'ElasticWebs per second',
    series: runs.raw.map((r, i) => ({
      label: `run ${i + 1}`,
      colour: ['#555', '#999', '#bbb'][i % 3] as string,
      points: r.points.map((p): [number, number] => [p.concurrency, p.perSecond]),
    })),
  });
}

export { quantile };
