import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  endMarker,
  type LatestJson,
  startMarker,
  summaryMarkdown,
  withSummary,
} from '../../bench/summary.ts';

const latest = (burst: { ts: number; go: number }, restart: { ts: number; go: number }): LatestJson => ({
  burst_converge_s: burst,
  update_latency_p50_ms: { ts: 5, go: 5 },
  update_latency_p99_ms: { ts: 14, go: 15 },
  idle_writes_per_min: { ts: 0, go: 0 },
  rss_mb_10k: { ts: 230, go: 294 },
  restart_s_10k: restart,
  requests_per_object: { ts: 4, go: 3 },
  raw_limit_converge_s: 5.6,
  burst_fraction_of_raw_limit: 5.6 / burst.ts,
  min_max: { burst_converge_s: { ts: [burst.ts - 0.1, burst.ts + 0.1], go: [burst.go, burst.go] } },
  meta: {
    startedAt: '2026-11-27T07:45:18.000Z',
    commit: 'abcdef0123',
    durationSeconds: 960,
    config: { runs: 3 },
  },
});

const row = (md: string, start: string) => md.split('\n').find((l) => l.startsWith(`| ${start}`)) ?? '';

describe('bench summary for the README', () => {
  test('a goal is met or not by the medians, and says so', () => {
    const md = summaryMarkdown(latest({ ts: 4, go: 6 }, { ts: 2.5, go: 1.7 }));
    assert.match(
      row(md, 'burst'),
      /\| 4\.00 \(3\.90–4\.10\) \| 6\.00 \(6\.00–6\.00\) \| 0\.67× \| ≥ 1\.5× faster \| yes \|$/,
    );
    assert.match(row(md, 'restart'), /\| no slower \| \*\*no\*\* \|$/);
    assert.match(row(md, 'idle writes'), /\| — \| 0 \| yes \|$/);
    assert.match(row(md, 'burst throughput'), /140% .*\| yes \|$/);
    const slower = summaryMarkdown(latest({ ts: 4.5, go: 6 }, { ts: 1.5, go: 1.7 }));
    assert.match(row(slower, 'burst'), /\*\*no\*\* \|$/);
    assert.match(row(slower, 'restart'), /\| yes \|$/);
  });

  test('only the block between the markers is replaced', () => {
    const readme = `# T\nbefore\n${startMarker}\nold table\n${endMarker}\nafter\n`;
    const out = withSummary(readme, 'NEW');
    assert.equal(out, `# T\nbefore\n${startMarker}\nNEW\n${endMarker}\nafter\n`);
    assert.equal(withSummary(out, 'NEWER'), `# T\nbefore\n${startMarker}\nNEWER\n${endMarker}\nafter\n`);
    assert.throws(() => withSummary('# no markers', 'x'), /lacks the markers/);
  });
});
