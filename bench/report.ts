/**
 * Turns the runs into bench/results/latest.{json,md} and burst.svg. Every figure is a median over
 * runs with its min and max; nothing here is measured, only summarised.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperatorName } from './operators.ts';
import type { BurstResult } from './scenarios/burst.ts';
import { percentile } from './scenarios/burst.ts';
import type { RawLimitResult } from './scenarios/raw-limit.ts';
import type { ScaleResult } from './scenarios/scale.ts';

export interface Runs {
  burst: Record<OperatorName, BurstResult[]>;
  scale: Record<OperatorName, ScaleResult[]>;
  /** By write pattern: 'ts' is our operator's writes, 'go' the baseline's. */
  raw: Record<OperatorName, RawLimitResult[]>;
}

export interface Meta {
  mode: 'full' | 'quick';
  config: Record<string, number>;
  machine: { cores: number; memoryGiB: number; cpuModel: string; kernel: string };
  kubernetes: string;
  node: string;
  go: string;
  commit: string;
  startedAt: string;
  durationSeconds: number;
  /** Runs that failed and are left out of the figures. */
  failures: string[];
}

interface Stat {
  median: number;
  min: number;
  max: number;
}

const ops: OperatorName[] = ['ts', 'go'];

function stat(values: number[]): Stat {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median =
    s.length % 2 ? (s[Math.floor(mid)] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number };
}

/** One figure per operator and run, for every headline metric and a few supporting ones. */
function metrics(runs: Runs): Record<string, Record<OperatorName, number[]>> {
  const per = <T>(src: Record<OperatorName, T[]>, f: (r: T) => number) =>
    Object.fromEntries(ops.map((op) => [op, src[op].map(f)])) as Record<OperatorName, number[]>;
  const sorted = (r: BurstResult) => [...r.updateLatenciesMs].sort((a, b) => a - b);
  return {
    burst_converge_s: per(runs.burst, (r) => r.burstSeconds),
    update_latency_p50_ms: per(runs.burst, (r) => percentile(sorted(r), 50)),
    update_latency_p99_ms: per(runs.burst, (r) => percentile(sorted(r), 99)),
    idle_writes_per_min: per(runs.burst, (r) => r.idleWritesPerMinute),
    rss_mb_10k: per(runs.scale, (r) => r.rssMiB),
    restart_s_10k: per(runs.scale, (r) => r.restartSeconds),
    requests_per_object: per(runs.burst, (r) => r.requestsPerObject),
    // supporting figures
    burst_operator_cpu_s: per(runs.burst, (r) => r.cpu.operator),
    burst_apiserver_cpu_s: per(runs.burst, (r) => r.cpu.apiServer),
    burst_etcd_cpu_s: per(runs.burst, (r) => r.cpu.etcd),
    requests_per_object_client_metric: per(runs.burst, (r) => r.clientRequestsPerObject),
    idle_requests_per_min: per(runs.burst, (r) => r.idleRequestsPerMinute),
    peak_rss_mb_10k: per(runs.scale, (r) => r.peakRssMiB),
    writes_during_restart_10k: per(runs.scale, (r) => r.writes),
    metrics_scrape_ms_10k: per(runs.scale, (r) => r.scrapeMs),
    rss_mb_1_object: per(runs.burst, (r) => r.rssOneMiB),
    rss_mb_burst_idle: per(runs.burst, (r) => r.rssIdleMiB),
  };
}

export function writeReport(runs: Runs, meta: Meta, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  const m = metrics(runs);
  const median = (key: string, op: OperatorName) => stat(m[key]?.[op] ?? []).median;
  const rawTs = stat(runs.raw.ts.map((r) => r.seconds));
  const rawGo = stat(runs.raw.go.map((r) => r.seconds));

  const json: Record<string, unknown> = {};
  const r3 = (x: number) => round(x, 3);
  for (const key of Object.keys(m)) json[key] = { ts: r3(median(key, 'ts')), go: r3(median(key, 'go')) };
  json.raw_limit_converge_s = r3(rawTs.median);
  json.raw_limit_go_writes_converge_s = r3(rawGo.median);
  json.burst_fraction_of_raw_limit = r3(rawTs.median / median('burst_converge_s', 'ts'));
  json.min_max = Object.fromEntries(
    Object.entries(m).map(([key, v]) => [
      key,
      Object.fromEntries(ops.map((op) => [op, minMax(v[op]).map(r3)])),
    ]),
  );
  json.raw_limit_min_max = { ts: [rawTs.min, rawTs.max].map(r3), go: [rawGo.min, rawGo.max].map(r3) };
  json.runs = Object.fromEntries(
    Object.entries(m).map(([key, v]) => [key, { ts: v.ts.map(r3), go: v.go.map(r3) }]),
  );
  json.raw_limit_runs = {
    ts: runs.raw.ts.map((r) => r3(r.seconds)),
    go: runs.raw.go.map((r) => r3(r.seconds)),
  };
  json.request_breakdown_per_object = Object.fromEntries(
    ops.map((op) => [
      op,
      perObject(
        medianRun(runs.burst[op], burstSeconds)?.requestBreakdown ?? {},
        meta.config.burstObjects ?? 1,
      ),
    ]),
  );
  json.meta = meta;
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(outDir, 'burst.svg'), burstSvg(runs, meta));
  writeFileSync(join(outDir, 'latest.md'), markdown(runs, meta, m, rawTs, rawGo));
}

function minMax(values: number[]): [number, number] {
  const s = stat(values);
  return [s.min, s.max];
}

/** The run whose time is the median one (the lower middle for an even count), if any. */
function medianRun<T extends { curve: number[] }>(results: T[], seconds: (r: T) => number): T | undefined {
  const s = [...results].sort((a, b) => seconds(a) - seconds(b));
  return s[Math.floor((s.length - 1) / 2)];
}

const burstSeconds = (r: BurstResult) => r.burstSeconds;

function perObject(counts: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / n, 3)]));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}

function cell(values: number[]): string {
  const s = stat(values);
  return `**${fmt(s.median)}** (${fmt(s.min)}–${fmt(s.max)})`;
}

function ratio(ts: number[], go: number[]): string {
  const a = stat(ts).median;
  const b = stat(go).median;
  if (a === 0 && b === 0) return '—';
  if (b === 0) return '∞';
  return `${fmt(a / b)}×`;
}

function markdown(
  runs: Runs,
  meta: Meta,
  m: Record<string, Record<OperatorName, number[]>>,
  rawTs: Stat,
  rawGo: Stat,
): string {
  const c = meta.config;
  const row = (label: string, key: string) => {
    const v = m[key] as Record<OperatorName, number[]>;
    return `| ${label} | ${cell(v.ts)} | ${cell(v.go)} | ${ratio(v.ts, v.go)} |`;
  };
  const head = '| | ours (TypeScript) | Go baseline | ours / Go |\n|---|---|---|---|';
  const breakdownTable = () => {
    const n = c.burstObjects ?? 1;
    const [ts, go] = ops.map((op) =>
      perObject(medianRun(runs.burst[op], burstSeconds)?.requestBreakdown ?? {}, n),
    );
    const keys = [...new Set([...Object.keys(ts ?? {}), ...Object.keys(go ?? {})])];
    return [
      '| request (verb resource) | ours, per object | Go, per object |',
      '|---|---|---|',
      ...keys.map((k) => `| ${k} | ${ts?.[k] ?? 0} | ${go?.[k] ?? 0} |`),
    ].join('\n');
  };
  const tsBurst = stat(m.burst_converge_s?.ts ?? []).median;
  const goBurst = stat(m.burst_converge_s?.go ?? []).median;
  return `# ElasticWeb benchmark: ours (TypeScript) vs the Go/kubebuilder baseline

Generated by \`npm run bench${meta.mode === 'quick' ? ' -- --quick' : ''}\` on ${meta.startedAt}, in ${fmt(meta.durationSeconds / 60)} minutes.
${meta.mode === 'quick' ? '\n**Quick mode: smaller N, for checking the harness; not the reference figures.**\n' : ''}${
  meta.failures.length > 0
    ? `\n**${meta.failures.length} run(s) failed and are left out:**\n\n${meta.failures.map((f) => `- ${f}`).join('\n')}\n`
    : ''
}
Every figure is the **median** of ${c.runs} runs per operator, with (min–max). The runs alternate
(ours, Go, ours, Go, ...), each on a fresh local cluster (etcd + kube-apiserver, \`api\` mode: no pods,
so realQPS stays 0 and "converged" means the Deployment has the right \`spec.replicas\` and the Service
exists). The two operators never run at the same time. Ratios are ours / Go on the medians: below 1
means ours is faster, smaller or cheaper.

- Machine: ${meta.machine.cores} cores (${meta.machine.cpuModel}), ${fmt(meta.machine.memoryGiB)} GiB memory, Linux ${meta.machine.kernel}; shared with other work, so expect noise.
- Kubernetes ${meta.kubernetes} (kube-apiserver and etcd built from source by hack/cluster), Node ${meta.node}, ${meta.go}.
- Commit measured: \`${meta.commit}\`.
- Both operators at their defaults: 5 concurrent reconciles, info-level logs (to a file), each under
  its own ServiceAccount bound to cluster-admin. The API server runs with
  \`--service-node-port-range=20000-32767\` so that 10,000 NodePort Services fit.

## 1. Burst: ${c.burstObjects} ElasticWebs created at once

The bench creates ${c.burstObjects} ElasticWebs (${c.burstNamespaces} namespaces, no \`port\`, singlePodsQPS 100, totalQPS 300:
3 replicas) 50 requests at a time, and its own watcher (a list+watch of all Deployments and Services
as admin, in the bench process) stamps when each one's Deployment has 3 replicas and its Service exists.
Clock from the first create to the last convergence. One warm-up object converges first, so the
operator is started, synced and idle when the clock starts, and so is the API server (under 0.1 core
for 1 s).

${head}
${row('seconds until all converged', 'burst_converge_s')}
${row('CPU seconds used by the operator during the burst', 'burst_operator_cpu_s')}
${row('CPU seconds used by kube-apiserver during the burst', 'burst_apiserver_cpu_s')}
${row('CPU seconds used by etcd during the burst', 'burst_etcd_cpu_s')}

![Converged ElasticWebs over time](burst.svg)

## 2. Update latency (${c.updates} sequential totalQPS changes, ${c.burstObjects} converged and idle)

One ElasticWeb at a time: merge-patch \`spec.totalQPS\` 300 → 500, then wait until the watcher sees its
Deployment at 5 replicas; latency from just before the write to the watch event. p50 and p99 are per
run, then the median over runs.

${head}
${row('p50 (ms)', 'update_latency_p50_ms')}
${row('p99 (ms)', 'update_latency_p99_ms')}

## 3. Idle writes (${c.idleSeconds} s with nothing changing)

Counted by the API server: its audit log (every request, Metadata level), filtered by the operator's
ServiceAccount and by verb (create, update, patch, delete). Starts once the operator has sent nothing
for 2 s after the update scenario.

${head}
${row('writes per minute', 'idle_writes_per_min')}
${row('all requests per minute (reads included; open watches not counted)', 'idle_requests_per_min')}

## 4. Memory: ${c.bigObjects} ElasticWebs plus ${c.bigObjects} unrelated Deployments and ${c.bigObjects} unrelated Services

RSS from \`/proc/<pid>/status\` (VmRSS), sampled every second after the operator has verified every
ElasticWeb (scenario 5), until ${c.settleSamples} consecutive samples lie within 2% (at most ${c.settleMaxSeconds} s); the
settled value is their median. The unrelated objects sit in other namespaces and belong to no
ElasticWeb (the unrelated Services are headless, to keep the setup short: neither operator caches
unrelated Services).

${head}
${row('settled RSS (MiB)', 'rss_mb_10k')}
${row('peak RSS from start to settled (MiB)', 'peak_rss_mb_10k')}
${row('for comparison: RSS with 1 ElasticWeb, just started (MiB)', 'rss_mb_1_object')}
${row(`for comparison: RSS at the end of scenario 3 (${c.burstObjects} ElasticWebs, no unrelated objects) (MiB)`, 'rss_mb_burst_idle')}

## 5. Restart with ${c.bigObjects} converged ElasticWebs

Seconds from spawning the process until \`controller_runtime_reconcile_total\` (summed over results)
reaches ${c.bigObjects}: caches synced and every ElasticWeb reconciled once. Its /metrics is scraped from
outside every 250 ms, so the figure is rounded up to the next scrape (a scrape costs our operator
tens of ms at this size, see the last row; polling every second instead made no difference above the
noise). The converged state is written by the bench (children.ts: the
same objects each operator writes) and saved once per operator; every run starts a fresh cluster on a
copy of it. The API server's caches are warmed by a full list, and the operator starts once the API
server has settled (under 0.1 core for 1 s): a fresh API server on this state spends its first ~2 s
at both cores filling its caches, and an operator restarts against a running API server, not a
starting one. The operator must find nothing to change: its write requests over the start-up are
counted as a check.

${head}
${row('seconds from process start until all verified', 'restart_s_10k')}
${row('write requests during start-up (should be 0)', 'writes_during_restart_10k')}
${row('one /metrics scrape afterwards (ms): the cost of polling it', 'metrics_scrape_ms_10k')}

## 6. API requests per converged ElasticWeb during the burst

From the audit log: every request by the operator's ServiceAccount from the first create of the burst
until the operator had been quiet for 2 s after the last convergence (watches opened earlier are not
in the window), divided by ${c.burstObjects}. The operator's own \`rest_client_requests_total\` delta over the same
span is shown as a cross-check.

${head}
${row('requests per object (audit log)', 'requests_per_object')}
${row('requests per object (rest_client_requests_total)', 'requests_per_object_client_metric')}

Breakdown, median-time run:

${breakdownTable()}

## 7. The limit on this machine

A minimal client in the bench process (Node.js, bench/scenarios/raw-limit.ts) makes only the writes
of an operator for each new ElasticWeb, 5 at a time, fed directly by the create responses: no
informers, no queue, no drift check. Same cluster flags, ServiceAccount-token authentication, warm-up
and watcher as the burst.

| | seconds for ${c.burstObjects} (median, min–max) |
|---|---|
| our writes (create Deployment, create Service, merge-patch status): **raw_limit_converge_s** | **${fmt(rawTs.median)}** (${fmt(rawTs.min)}–${fmt(rawTs.max)}) |
| the baseline's writes (create Service, create Deployment, update status) | ${fmt(rawGo.median)} (${fmt(rawGo.min)}–${fmt(rawGo.max)}) |

Our burst throughput is **${fmt((100 * rawTs.median) / tsBurst)}%** of the raw limit for our writes
(${fmt(rawTs.median)} s / ${fmt(tsBurst)} s). The Go baseline's is ${fmt((100 * rawGo.median) / goBurst)}% of the limit for its own writes.
`;
}

// ---- chart ----------------------------------------------------------------------------------------

const colours: Record<OperatorName, string> = { ts: '#1f6feb', go: '#d9480f' };
const labels: Record<OperatorName, string> = { ts: 'ours (TypeScript)', go: 'Go baseline' };

/** Converged count over time: every run faint, the median-time run bold, the raw limit dashed. */
function burstSvg(runs: Runs, meta: Meta): string {
  const n = meta.config.burstObjects ?? 1;
  const curves = ops.flatMap((op) => runs.burst[op].map((r) => r.curve));
  const rawCurves = runs.raw.ts.map((r) => r.curve);
  const tMax = niceCeil(Math.max(...curves.flat(), ...rawCurves.flat(), 1));
  const [w, h, left, right, top, bottom] = [760, 420, 64, 20, 40, 48];
  const x = (t: number) => left + (t / tMax) * (w - left - right);
  const y = (count: number) => h - bottom - (count / n) * (h - top - bottom);
  const path = (curve: number[]) => {
    // A step up at each convergence, from (0, 0).
    let d = `M${x(0).toFixed(1)},${y(0).toFixed(1)}`;
    curve.forEach((t, i) => {
      d += ` H${x(t).toFixed(1)} V${y(i + 1).toFixed(1)}`;
    });
    return d;
  };
  const parts: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const t = (tMax * i) / 5;
    const count = Math.round((n * i) / 5);
    parts.push(
      `<line x1="${x(t)}" y1="${top}" x2="${x(t)}" y2="${h - bottom}" stroke="#eee"/>`,
      `<text x="${x(t)}" y="${h - bottom + 18}" text-anchor="middle">${round(t, 2)}</text>`,
      `<line x1="${left}" y1="${y(count)}" x2="${w - right}" y2="${y(count)}" stroke="#eee"/>`,
      `<text x="${left - 8}" y="${y(count) + 4}" text-anchor="end">${count}</text>`,
    );
  }
  for (const op of ops) {
    for (const r of runs.burst[op]) {
      parts.push(`<path d="${path(r.curve)}" fill="none" stroke="${colours[op]}" stroke-opacity="0.25"/>`);
    }
    const median = medianRun(runs.burst[op], burstSeconds);
    if (median) {
      parts.push(`<path d="${path(median.curve)}" fill="none" stroke="${colours[op]}" stroke-width="2.5"/>`);
    }
  }
  const rawMedian = medianRun(runs.raw.ts, (r) => r.seconds);
  if (rawMedian) {
    parts.push(
      `<path d="${path(rawMedian.curve)}" fill="none" stroke="#555" stroke-width="1.5" stroke-dasharray="5,4"/>`,
    );
  }
  // Bottom right: the curves rise from the bottom left to the top right.
  const [lx, ly] = [w - right - 300, h - bottom - 70];
  const legend = [
    ...ops.map((op, i) => ({ colour: colours[op], label: labels[op], dash: '', i })),
    { colour: '#555', label: 'raw limit (our writes, no controller)', dash: '5,4', i: 2 },
  ]
    .map(
      ({ colour, label, dash, i }) =>
        `<line x1="${lx}" y1="${ly + i * 18}" x2="${lx + 28}" y2="${ly + i * 18}" stroke="${colour}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>` +
        `<text x="${lx + 34}" y="${ly + 4 + i * 18}">${label}</text>`,
    )
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">
<rect width="${w}" height="${h}" fill="white"/>
<text x="${w / 2}" y="22" text-anchor="middle" font-size="15">Burst: ${n} ElasticWebs created at once, converged over time (bold: median run; faint: all ${meta.config.runs} runs)</text>
${parts.join('\n')}
<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#333"/>
<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#333"/>
<text x="${(left + w - right) / 2}" y="${h - 10}" text-anchor="middle">seconds since the first create</text>
<text x="16" y="${(top + h - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + h - bottom) / 2})">converged ElasticWebs</text>
${legend}
</svg>
`;
}

/** 1, 2 or 5 times a power of ten, at least `x`. */
function niceCeil(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  return ([1, 2, 5, 10].find((k) => k * p >= x) ?? 10) * p;
}
