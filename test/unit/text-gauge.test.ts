import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderGauge } from '../../src/runtime/metrics/text-gauge.ts';

test('renderGauge writes HELP, TYPE and one escaped line per item', () => {
  const text = renderGauge(
    'elasticweb_real_qps',
    'QPS served.',
    [
      { ns: 'a', name: 'web', qps: 2400 },
      { ns: 'b', name: 'we"ird\\name', qps: 0 },
    ],
    (i) => ({ namespace: i.ns, name: i.name }),
    (i) => i.qps,
  );
  assert.equal(
    text,
    [
      '# HELP elasticweb_real_qps QPS served.',
      '# TYPE elasticweb_real_qps gauge',
      'elasticweb_real_qps{namespace="a",name="web"} 2400',
      'elasticweb_real_qps{namespace="b",name="we\\"ird\\\\name"} 0',
      '',
    ].join('\n'),
  );
});
