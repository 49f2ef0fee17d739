/**
 * The alerting rules (config/prometheus/alerts.yaml): promtool accepts them and their unit tests
 * (alerts.test.yaml) pass; every alert has a case where it fires and one where it stays silent; and
 * the tests are shown to bite: an alert that never fires, always fires, or fires without waiting its
 * `for` makes promtool fail. Each alert carries what a person paged needs: summary, description
 * (naming the ElasticWeb where there is one), severity and a runbook that exists. The metrics the
 * rules query are ones the operator exports (or the few still pending).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { exportedMetricNames } from '../support/exported-metrics.ts';
import { metricNamesIn, pendingMetrics } from '../support/pending-metrics.ts';
import { alertRules, checkRules, promtoolTests, type RuleGroups, ruleGroups, testRules } from './rules.ts';

const root = new URL('../..', import.meta.url).pathname;
const groups = ruleGroups();
const rules = alertRules(groups);

interface PromtoolTests {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}
const cases = (parse(readFileSync(promtoolTests, 'utf8')) as PromtoolTests).tests.flatMap(
  (t) => t.alert_rule_test ?? [],
);

/** The rule groups with one alert changed. */
function mutate(
  alert: string,
  change: (rule: RuleGroups['groups'][number]['rules'][number]) => void,
): RuleGroups {
  const copy = structuredClone(groups);
  const rule = copy.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  assert.ok(rule);
  change(rule);
  return copy;
}

describe('promtool', () => {
  test('check rules accepts them', async () => {
    const { code, output } = await checkRules(groups);
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  test('test rules passes', async () => {
    const { code, output } = await testRules(groups);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS/);
  });
});

describe('coverage', () => {
  test('the issue’s alerts are all there', () => {
    const names = rules.map((r) => r.alert).sort();
    for (const expected of [
      'ElasticWebReconcileErrors',
      'ElasticWebWorkQueueBackingUp',
      'ElasticWebReconcileStuck',
      'ElasticWebOperatorNoLeader',
      'ElasticWebAPIThrottled',
      'ElasticWebDegraded',
      'ElasticWebCapacityMissing',
      'ElasticWebSaturated',
    ])
      assert.ok(names.includes(expected), expected);
    assert.equal(new Set(names).size, names.length, 'alert names are unique');
  });

  for (const rule of rules) {
    test(`${rule.alert} has a case where it fires and one where it stays silent`, () => {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        'fires',
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        'stays silent',
      );
    });

    test(`${rule.alert}: the promtool tests fail if it never fires, always fires, or skips its wait`, async () => {
      const never = await testRules(mutate(rule.alert, (r) => Object.assign(r, { expr: 'vector(1) > 2' })));
      assert.notEqual(never.code, 0, 'an alert that never fires is caught');
      const always = await testRules(mutate(rule.alert, (r) => Object.assign(r, { expr: 'vector(1)' })));
      assert.notEqual(always.code, 0, 'an alert that fires on anything is caught');
      assert.ok(rule.for, 'it waits before firing');
      const eager = await testRules(mutate(rule.alert, (r) => Object.assign(r, { for: '0s' })));
      assert.notEqual(eager.code, 0, 'an alert that does not wait its `for` is caught');
    });
  }
});

describe('what a person paged gets', () => {
  for (const rule of rules) {
    test(`${rule.alert}: severity, summary, description and a runbook page that says what to do`, () => {
      assert.ok(
        ['warning', 'critical'].includes(rule.labels?.severity ?? ''),
        'severity warning or critical',
      );
      const a = rule.annotations ?? {};
      assert.ok((a.summary ?? '').length > 10, 'summary');
      assert.ok((a.description ?? '').length > 40, 'description');
      const url = a.runbook_url ?? '';
      const page = /\/docs\/runbooks\/([\w-]+\.md)$/.exec(url)?.[1];
      assert.equal(page, `${rule.alert}.md`, `runbook_url ${url} points at docs/runbooks/${rule.alert}.md`);
      const path = join(root, 'docs/runbooks', page);
      assert.ok(existsSync(path), `${path} exists`);
      const text = readFileSync(path, 'utf8');
      assert.match(text, new RegExp(`^# ${rule.alert}\\b`, 'm'));
      for (const section of ['## Meaning', '## Confirm', '## What to do'])
        assert.ok(text.includes(section), `the runbook has "${section}"`);
      assert.match(text, /```(sh|promql)/, 'with commands or queries to run');
    });

    const perElasticWeb = metricNamesIn(rule.expr).some((m) => m.startsWith('elasticweb_'));
    if (perElasticWeb) {
      test(`${rule.alert} names the ElasticWeb in its summary and description`, () => {
        for (const field of ['summary', 'description'] as const)
          assert.match(
            rule.annotations?.[field] ?? '',
            /\{\{ \$labels\.namespace \}\}\/\{\{ \$labels\.name \}\}/,
            field,
          );
      });
    }
  }
});

test('every metric the rules query is exported, or pending (named in test/support/pending-metrics.ts)', async () => {
  const exported = await exportedMetricNames();
  exported.add('up'); // Prometheus's own, per target
  for (const rule of rules) {
    for (const name of metricNamesIn(rule.expr)) {
      assert.ok(
        exported.has(name) || pendingMetrics.has(name),
        `${rule.alert} queries ${name}, which nothing exports`,
      );
    }
  }
});
