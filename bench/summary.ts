/**
 * The README's benchmark table: the headline figures of bench/results/latest.json, ours against the
 * best-practice Go peer with the paired ratio and its 95% interval, the goals of the benchmark issue
 * (each against the better of the two Go peers) and their verdicts; the tutorial's figures in a
 * footnote. A full `npm run bench` rewrites the block between the markers in README.md, so the README
 * always shows the latest full run, never hand-copied numbers.
 */

interface Figure {
  ts: number | null;
  go: number | null;
  go_best: number | null;
}

interface IntervalJson {
  ratio: number | null;
  lo: number | null;
  hi: number | null;
  pairs: number;
}

/** What summaryMarkdown reads from latest.json. */
export interface LatestJson {
  [key: string]: unknown;
  ratio_ci: Record<string, IntervalJson | null>;
  goals: { key: string; text: string; against: string; interval: IntervalJson | null; verdict: string }[];
  min_max: Record<string, Record<'ts' | 'go' | 'go_best', [number | null, number | null]>>;
  raw_limit_per_s: number | null;
  raw_limit_concurrency: number | null;
  raw_limit_status_s: number | null;
  /** Absent in results written before the tutorial's writes were measured at the limit. */
  raw_limit_go_writes_status_s?: number | null;
  burst_status_fraction_of_raw_limit: number | null;
  bare_node_https_rss_mb: number | null;
  meta: {
    startedAt: string;
    commit: string;
    durationSeconds: number;
    config: { runs: number; burstObjects: number };
  };
}

export const startMarker = '<!-- bench-summary:start (written by npm run bench) -->';
export const endMarker = '<!-- bench-summary:end -->';

const rows: { key: string; label: string }[] = [
  { key: 'burst_status_s', label: 'burst: 1,000 ElasticWebs, every status complete (s)' },
  { key: 'burst_converge_s', label: 'burst: every Deployment and Service exists (s)' },
  { key: 'operator_cpu_s_per_1k', label: 'operator CPU-s per 1,000 ElasticWebs in the burst' },
  { key: 'requests_per_object', label: 'API requests per ElasticWeb in the burst' },
  { key: 'update_latency_p50_ms', label: 'update to status, p50 (ms)' },
  { key: 'update_latency_p99_ms', label: 'update to status, p99 (ms)' },
  { key: 'idle_writes_per_min', label: 'idle writes per minute' },
  { key: 'rss_mb_idle', label: 'idle RSS, 1 ElasticWeb (MiB)' },
  { key: 'rss_mb_1k', label: 'RSS at 1,000 ElasticWebs (MiB)' },
  { key: 'rss_mib_per_1k', label: 'RSS slope (MiB per 1,000 ElasticWebs)' },
  { key: 'rss_mb_10k', label: 'RSS at 10,000 + 10,000 unrelated (MiB)' },
  { key: 'restart_s_10k', label: 'restart at 10,000: all verified (s)' },
  { key: 'real_qps_s', label: 'full mode: time to REAL-QPS (s)' },
];

const fmt = (x: number | null | undefined) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
};
const range = (r: [number | null, number | null] | undefined) => (r ? ` (${fmt(r[0])}–${fmt(r[1])})` : '');
const interval = (i: IntervalJson | null | undefined) =>
  i && i.ratio !== null ? `${fmt(i.ratio)}× [${fmt(i.lo)}, ${fmt(i.hi)}]` : '—';

/** The markdown table (and its caption and footnote) for README.md. */
export function summaryMarkdown(latest: LatestJson): string {
  const m = latest.meta;
  const goalOf = new Map(latest.goals.map((g) => [g.key, g]));
  const lines = [
    `Medians of ${m.config.runs} runs in ABBA order (min–max), from \`npm run bench\` of ${m.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    `(commit \`${m.commit.slice(0, 7)}\`${m.commit.endsWith('-dirty') ? ' with uncommitted changes' : ''}, ${(m.durationSeconds / 60).toFixed(0)} min); details in`,
    '[bench/results/latest.md](bench/results/latest.md). Ratios: ours / best-practice Go peer, paired by round, with',
    'the 95% bootstrap interval. A goal is met when its whole interval is within it (against the better Go peer).',
    '',
  ];
  const table: string[][] = [
    ['', 'ours (TypeScript)', 'Go, best practice', 'ours / Go best [95% CI]', 'goal', 'verdict'],
  ];
  const notes: string[] = [];
  for (const { key, label } of rows) {
    const f = latest[key] as Figure | undefined;
    if (!f) continue;
    const mm = latest.min_max[key];
    const g = goalOf.get(key);
    const goal = g
      ? `${g.text}${g.against !== 'go_best' && g.against !== 'absolute' ? ' (vs tutorial)' : ''}`
      : '';
    const verdict = g ? (g.verdict === 'met' ? 'met' : `**${g.verdict}**`) : '';
    table.push([
      label,
      `${fmt(f.ts)}${range(mm?.ts)}`,
      `${fmt(f.go_best)}${range(mm?.go_best)}`,
      interval(latest.ratio_ci[key]),
      goal,
      verdict,
    ]);
    notes.push(`${label.replace(/ \(.*\)$/, '')} ${fmt(f.go)}`);
  }
  lines.push(
    ...aligned(table),
    '',
    `Raw limit (a client with no controller logic making our writes, concurrency raised until kube-apiserver saturates): ${fmt(latest.raw_limit_per_s)} ElasticWebs/s at concurrency ${latest.raw_limit_concurrency ?? '—'}, ${fmt(latest.raw_limit_status_s)} s to status; our burst reaches ${fmt((latest.burst_status_fraction_of_raw_limit ?? Number.NaN) * 100)}% of it.${latest.raw_limit_go_writes_status_s != null ? ` Making the tutorial's 3 writes instead, the same client takes ${fmt(latest.raw_limit_go_writes_status_s)} s.` : ''} A bare \`node\` that has loaded \`https\` idles at ${fmt(latest.bare_node_https_rss_mb)} MiB.`,
    '',
    `The kubebuilder tutorial's controller (\`bench/baseline-go\`), same runs: ${notes.join('; ')}.`,
  );
  return lines.join('\n');
}

/** A markdown table with every column padded to its widest cell, as a person would write it. */
export function aligned(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(3, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${widths.map((w, c) => (cells[c] ?? '').padEnd(w)).join(' | ')} |`;
  const [head = [], ...body] = rows;
  return [line(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)];
}

/** `readme` with the block between the markers replaced by `table`; throws if the markers are missing. */
export function withSummary(readme: string, table: string): string {
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${startMarker} … ${endMarker}`);
  return `${readme.slice(0, start + startMarker.length)}\n${table}\n${readme.slice(end)}`;
}
