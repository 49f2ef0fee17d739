import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  endMarker,
  type LatestJson,
  startMarker,
  summaryMarkdown,
  withSummary,
} from '../../bench/summary.ts';

const latest = (verdict: string): LatestJson => ({
  burst_status_s: { ts: 4, go: 6.5, go_best: 5 },
  burst_converge_s: { ts: 3, go: 6, go_best: 4 },
  rss_mb_idle: { ts: 70, go: 33, go_best: 30 },
  ratio_ci: { burst_status_s: { ratio: 0.8, lo: 0.74, hi: 0.86, pairs: 5 }, burst_converge_s: null },
  goals: [
    {
      key: 'burst_status_s',
      text: '≤ 0.8×',
      against: 'go_best',
      interval: { ratio: 0.8, lo: 0.74, hi: 0.86, pairs: 5 },
      verdict,
    },
    { key: 'rss_mb_idle', text: '≤ 65 MiB', against: 'absolute', interval: null, verdict: 'not met' },
  ],
  min_max: { burst_status_s: { ts: [3.9, 4.1], go: [6, 7], go_best: [4.8, 5.2] } },
  raw_limit_per_s: 250,
  raw_limit_concurrency: 40,
  raw_limit_status_s: 4,
  raw_limit_go_writes_status_s: 3.2,
  burst_status_fraction_of_raw_limit: 1,
  bare_node_https_rss_mb: 45,
  meta: {
    startedAt: '2026-12-01T07:45:18.000Z',
    commit: 'abcdef0123',
    durationSeconds: 3600,
    config: { runs: 5, burstObjects: 1000 },
  },
});

/** The cells of the table row whose first cell starts with `start`, trimmed. */
const row = (md: string, start: string) =>
  (md.split('\n').find((l) => l.startsWith(`| ${start}`)) ?? '')
    .split('|')
    .slice(2, -1)
    .map((c) => c.trim());

describe('bench summary for the README', () => {
  test('each row shows ours, the best Go peer, the paired interval, the goal and its verdict', () => {
    const md = summaryMarkdown(latest('undecided'));
    assert.deepEqual(row(md, 'burst: 1,000 ElasticWebs, every status'), [
      '4.00 (3.90–4.10)',
      '5.00 (4.80–5.20)',
      '0.80× [0.74, 0.86]',
      '≤ 0.8×',
      '**undecided**',
    ]);
    assert.deepEqual(row(md, 'burst: every Deployment'), ['3.00', '4.00', '—', '', '']);
    assert.deepEqual(row(md, 'idle RSS').slice(3), ['≤ 65 MiB', '**not met**']);
    assert.deepEqual(row(summaryMarkdown(latest('met')), 'burst: 1,000 ElasticWebs, every status').slice(3), [
      '≤ 0.8×',
      'met',
    ]);
    // Aligned as a person would write it: every line of the table is as wide as its header.
    const table = md.split('\n').filter((l) => l.startsWith('|'));
    assert.ok(table.length > 3);
    assert.deepEqual(new Set(table.map((l) => l.length)).size, 1, table.join('\n'));
    // Figures missing from latest.json are left out, and the tutorial is a footnote.
    assert.doesNotMatch(md, /restart at 10,000/);
    assert.match(md, /tutorial's controller .*every status complete 6\.50/);
    assert.match(md, /250 ElasticWebs\/s at concurrency 40, 4\.00 s to status/);
    assert.match(md, /the tutorial's 3 writes instead, the same client takes 3\.20 s/);
  });

  test('only the block between the markers is replaced', () => {
    const readme = `# T\nbefore\n${startMarker}\nold table\n${endMarker}\nafter\n`;
    const out = withSummary(readme, 'NEW');
    assert.equal(out, `# T\nbefore\n${startMarker}\nNEW\n${endMarker}\nafter\n`);
    assert.equal(withSummary(out, 'NEWER'), `# T\nbefore\n${startMarker}\nNEWER\n${endMarker}\nafter\n`);
    assert.throws(() => withSummary('# no markers', 'x'), /lacks the markers/);
  });
});
