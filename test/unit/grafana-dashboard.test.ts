/**
 * The committed Grafana dashboard (config/grafana/elasticweb-operator.json) is well formed: valid JSON,
 * unique panel ids, no overlapping panels, every panel with the data source variable and queries, the
 * template variables the queries use, the panels the issue asks for, and only metric names the
 * operator exports (or the few pending). test/e2e/dashboard.test.ts runs the queries for real.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { exportedMetricNames } from '../support/exported-metrics.ts';
import { metricNamesIn, pendingMetrics } from '../support/pending-metrics.ts';

interface Target {
  refId: string;
  expr: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: {
    list: { name: string; type: string; query: unknown; multi?: boolean; includeAll?: boolean }[];
  };
}

/** Grafana's data source variable, as every panel and query must name it. */
const datasourceVariable = ['$', '{datasource}'].join('');
const text = readFileSync(new URL('../../config/grafana/elasticweb-operator.json', import.meta.url), 'utf8');

describe('Grafana dashboard', () => {
  const board = JSON.parse(text) as Dashboard;
  const panels = board.panels.filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  test('is a dashboard with a stable uid and panels', () => {
    assert.equal(board.uid, 'elasticweb-operator');
    assert.ok(board.title);
    assert.ok(panels.length >= 15, `${panels.length} panels`);
  });

  test('panel ids are unique', () => {
    const ids = board.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.every((id) => Number.isInteger(id) && id > 0));
  });

  test('panels fit the 24-column grid and do not overlap', () => {
    const taken = new Set<string>();
    for (const p of board.panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0, `${p.title} fits`);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          assert.ok(!taken.has(`${i},${j}`), `${p.title} overlaps another panel at ${i},${j}`);
          taken.add(`${i},${j}`);
        }
    }
  });

  test('every panel has the data source variable and at least one query, with unique refIds', () => {
    for (const p of panels) {
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: datasourceVariable }, p.title);
      assert.ok((p.targets ?? []).length > 0, `${p.title} has targets`);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${p.title} refIds`);
      for (const t of p.targets ?? []) {
        assert.ok(t.expr.trim().length > 0, `${p.title} ${t.refId} has an expression`);
        assert.equal(t.datasource?.uid, datasourceVariable);
      }
    }
  });

  test('the variables exist: data source, job, and multi-value namespace and name', () => {
    const vars = new Map(board.templating.list.map((v) => [v.name, v]));
    assert.equal(vars.get('datasource')?.type, 'datasource');
    for (const name of ['job', 'namespace', 'name']) assert.equal(vars.get(name)?.type, 'query', name);
    for (const name of ['namespace', 'name']) {
      assert.equal(vars.get(name)?.multi, true, `${name} is multi-value`);
      assert.equal(vars.get(name)?.includeAll, true, `${name} has All`);
    }
  });

  test('every variable a query uses is defined, and every query is scoped to $job', () => {
    const defined = new Set(board.templating.list.map((v) => v.name));
    for (const expr of exprs) {
      for (const [, name] of expr.matchAll(/\$(?!__)(\w+)/g))
        assert.ok(defined.has(name as string), `$${name} in ${expr}`);
      assert.match(expr, /job=~"\$job"/, expr);
    }
  });

  test('per-ElasticWeb panels select by $namespace and $name', () => {
    for (const expr of exprs.filter((e) => /elasticweb_/.test(e)))
      assert.match(expr, /namespace=~"\$namespace", name=~"\$name"/, expr);
  });

  test('it has the panels the issue asks for', () => {
    const all = exprs.join('\n');
    for (const needed of [
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_errors_total',
      'histogram_quantile(0.99, sum by (le) (rate(controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_depth',
      'workqueue_queue_duration_seconds_bucket',
      'controller_runtime_active_workers',
      'sum by (code) (rate(rest_client_requests_total',
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds',
      'elasticweb_desired_qps',
      'elasticweb_real_qps',
      'elasticweb_observed_qps',
    ])
      assert.ok(all.includes(needed), needed);
  });

  test('every metric it queries is exported, or pending (named in test/support/pending-metrics.ts)', async () => {
    const exported = await exportedMetricNames();
    for (const expr of exprs)
      for (const name of metricNamesIn(expr))
        assert.ok(exported.has(name) || pendingMetrics.has(name), `${name} (in ${expr}) is not exported`);
  });
});
