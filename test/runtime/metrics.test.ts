/**
 * Metrics: text sources marked leaderOnly (per-object gauges) are exported only by the replica that
 * leads, so sums over replicas are right; other sources always are.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metrics } from '../../src/runtime/metrics/metrics.ts';
import { TextGauge } from '../../src/runtime/metrics/text-gauge.ts';

describe('Metrics: leader-only text sources', () => {
  test('a standby renders the shared sources and leaves out the leader-only ones', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const perObject = new TextGauge('widget_ready_replicas', 'Ready replicas per widget');
    perObject.set('ns/w1', { namespace: 'ns', name: 'w1' }, 3);
    const shared = new TextGauge('widget_build_info', 'Build');
    shared.set('x', { version: '1.0' }, 1);
    metrics.addTextSource(() => perObject.render(), { leaderOnly: true });
    metrics.addTextSource(() => shared.render());
    let leading = false;
    metrics.setLeading(() => leading);
    const standby = (await metrics.render()).body;
    assert.doesNotMatch(standby, /widget_ready_replicas/);
    assert.match(standby, /widget_build_info\{version="1.0"\} 1/);
    assert.match(
      standby,
      /controller_runtime|leader_election_master_status|rest_client/,
      'the registry is rendered too',
    );
    leading = true;
    const leader = (await metrics.render()).body;
    assert.match(leader, /widget_ready_replicas\{namespace="ns",name="w1"\} 3/);
    assert.match(leader, /widget_build_info/);
  });

  test('without leader election (setLeading never called) everything is rendered', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.addTextSource(() => 'only_leader 1\n', { leaderOnly: true });
    assert.match((await metrics.render()).body, /only_leader 1/);
  });
});
