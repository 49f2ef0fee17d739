import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaugeLine, TextGauge } from '../../src/runtime/metrics/text-gauge.ts';

test('a TextGauge renders HELP, TYPE and the current line of each key; deleted keys go', () => {
  const g = new TextGauge('elasticweb_real_qps', 'QPS served.');
  g.set('a/web', { namespace: 'a', name: 'web' }, 800);
  g.set('a/web', { namespace: 'a', name: 'web' }, 2400);
  g.set('b/old', { namespace: 'b', name: 'old' }, 1);
  g.delete('b/old');
  assert.equal(
    g.render(),
    '# HELP elasticweb_real_qps QPS served.\n# TYPE elasticweb_real_qps gauge\nelasticweb_real_qps{namespace="a",name="web"} 2400\n',
  );
});

test('label values are escaped as the exposition format requires', () => {
  assert.equal(gaugeLine('g', { name: 'we"ird\\name\nx' }, 0), 'g{name="we\\"ird\\\\name\\nx"} 0\n');
});
