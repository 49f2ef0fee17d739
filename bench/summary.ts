/**
 * The README's benchmark table: the headline figures of bench/results/latest.json with the goals of
 * the benchmark issue and whether each is met. A full `npm run bench` rewrites the block between the
 * markers in README.md, so the README always shows the latest full run, never hand-copied numbers.
 */

interface Pair {
  ts: number;
  go: number;
}

/** What summaryMarkdown reads from latest.json. */
export interface LatestJson {
  burst_converge_s: Pair;
  update_latency_p50_ms: Pair;
  update_latency_p99_ms: Pair;
  idle_writes_per_min: Pair;
  rss_mb_10k: Pair;
  restart_s_10k: Pair;
  requests_per_object: Pair;
  raw_limit_converge_s: number;
  burst_fraction_of_raw_limit: number;
  min_max: Record<string, { ts: [number, number]; go: [number, number] }>;
  meta: { startedAt: string; commit: string; durationSeconds: number; config: { runs: number } };
}

export const startMarker = '<!-- bench-summary:start (written by npm run bench) -->';
export const endMarker = '<!-- bench-summary:end -->';

type Goal = { text: string; met: (ts: number, go: number) => boolean };

const rows: { key: keyof LatestJson & string; label: string; goal?: Goal }[] = [
  {
    key: 'burst_converge_s',
    label: 'burst: 1,000 ElasticWebs converged (s)',
    goal: { text: '≥ 1.5× faster', met: (ts, go) => go / ts >= 1.5 },
  },
  { key: 'update_latency_p50_ms', label: 'update latency p50 (ms)' },
  {
    key: 'update_latency_p99_ms',
    label: 'update latency p99 (ms)',
    goal: { text: 'no worse', met: (ts, go) => ts <= go },
  },
  {
    key: 'idle_writes_per_min',
    label: 'idle writes per minute',
    goal: { text: '0', met: (ts) => ts === 0 },
  },
  {
    key: 'rss_mb_10k',
    label: 'RSS at 10,000 ElasticWebs (MiB)',
    goal: { text: 'no more', met: (ts, go) => ts <= go },
  },
  {
    key: 'restart_s_10k',
    label: 'restart at 10,000: all verified (s)',
    goal: { text: 'no slower', met: (ts, go) => ts <= go },
  },
  { key: 'requests_per_object', label: 'API requests per object in the burst' },
];

const fmt = (x: number) =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
const range = (r: [number, number] | undefined) => (r ? ` (${fmt(r[0])}–${fmt(r[1])})` : '');

/** The markdown table (and its caption) for README.md. */
export function summaryMarkdown(latest: LatestJson): string {
  const lines = [
    `Medians of ${latest.meta.config.runs} runs (min–max), from \`npm run bench\` of ${latest.meta.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    `(commit \`${latest.meta.commit.slice(0, 7)}\`${latest.meta.commit.endsWith('-dirty') ? ' with uncommitted changes' : ''}, ${(latest.meta.durationSeconds / 60).toFixed(0)} min); details in`,
    '[bench/results/latest.md](bench/results/latest.md).',
    '',
    '| | ours (TypeScript) | Go baseline | ours / Go | goal | met |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const { key, label, goal } of rows) {
    const { ts, go } = latest[key] as Pair;
    const mm = latest.min_max[key];
    const ratio = go === 0 ? (ts === 0 ? '—' : '∞') : `${(ts / go).toFixed(2)}×`;
    const met = goal ? (goal.met(ts, go) ? 'yes' : '**no**') : '';
    lines.push(
      `| ${label} | ${fmt(ts)}${range(mm?.ts)} | ${fmt(go)}${range(mm?.go)} | ${ratio} | ${goal?.text ?? ''} | ${met} |`,
    );
  }
  const fraction = latest.burst_fraction_of_raw_limit;
  lines.push(
    `| burst throughput / raw limit (a client sending our 3 writes inline, no controller: ${fmt(latest.raw_limit_converge_s)} s) | ${(fraction * 100).toFixed(0)}% | | | ≥ 70% | ${fraction >= 0.7 ? 'yes' : '**no**'} |`,
  );
  return lines.join('\n');
}

/** `readme` with the block between the markers replaced by `table`; throws if the markers are missing. */
export function withSummary(readme: string, table: string): string {
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${startMarker} … ${endMarker}`);
  return `${readme.slice(0, start + startMarker.length)}\n${table}\n${readme.slice(end)}`;
}
