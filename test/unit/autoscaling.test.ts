/**
 * Observed mode's arithmetic: the recommendation (floor, headroom, tolerance, maxReplicas, no data),
 * the stabilization window (up at once, down after the window, seeded on first sight), and the query
 * template. Prometheus itself is exercised on the real node (test/realnode).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { recommend } from '../../src/controllers/elasticweb/autoscaling/recommend.ts';
import { StabilizationWindow } from '../../src/controllers/elasticweb/autoscaling/stabilization.ts';
import {
  defaultTrafficQuery,
  renderQuery,
  usesWindow,
} from '../../src/controllers/elasticweb/autoscaling/traffic-query.ts';

const base = {
  singlePodsQPS: 50,
  totalQPS: 0,
  maxReplicas: 100,
  targetUtilization: 80,
  currentReplicas: 1,
  readyReplicas: 1,
};

describe('recommend', () => {
  test('capacity for the traffic at the target utilization: 400 QPS at 80% of 50 per pod is 10 pods', () => {
    assert.equal(recommend({ ...base, observedQPS: 400 }).replicas, 10);
    assert.equal(recommend({ ...base, observedQPS: 401 }).replicas, 11);
  });

  test('never below the declared floor, and never below one pod', () => {
    assert.equal(recommend({ ...base, totalQPS: 2400, singlePodsQPS: 800, observedQPS: 10 }).replicas, 3);
    assert.equal(recommend({ ...base, observedQPS: 0 }).replicas, 1);
    assert.equal(recommend({ ...base, totalQPS: 0, observedQPS: 0, currentReplicas: 0 }).floor, 1);
  });

  test('never above maxReplicas; saturated when the Ready pods run above singlePodsQPS there', () => {
    const r = recommend({ ...base, maxReplicas: 4, observedQPS: 300, currentReplicas: 4, readyReplicas: 4 });
    assert.equal(r.replicas, 4);
    assert.equal(r.saturated, true, '75 QPS per pod > 50');
    const fine = recommend({
      ...base,
      maxReplicas: 4,
      observedQPS: 190,
      currentReplicas: 4,
      readyReplicas: 4,
    });
    assert.equal(fine.replicas, 4);
    assert.equal(fine.saturated, false, 'over the 80% target, but 47.5 per pod is within capacity');
  });

  test('within 10% of the target load per pod, the current count stays (no flapping on noise)', () => {
    // 10 pods at 40 QPS target each: 360..440 QPS keep 10.
    for (const qps of [361, 400, 439])
      assert.equal(recommend({ ...base, observedQPS: qps, currentReplicas: 10 }).replicas, 10);
    assert.equal(recommend({ ...base, observedQPS: 445, currentReplicas: 10 }).replicas, 12);
    assert.equal(recommend({ ...base, observedQPS: 355, currentReplicas: 10 }).replicas, 9);
  });

  test('no measurement: hold the current replicas, at least the floor, at most maxReplicas', () => {
    assert.equal(recommend({ ...base, observedQPS: undefined, currentReplicas: 7 }).replicas, 7);
    assert.equal(
      recommend({ ...base, observedQPS: undefined, currentReplicas: 0, totalQPS: 200 }).replicas,
      4,
    );
    assert.equal(recommend({ ...base, observedQPS: undefined, currentReplicas: 500 }).replicas, 100);
  });

  test('for any input: floor <= replicas <= maxReplicas, and more traffic never means fewer pods', () => {
    fc.assert(
      fc.property(
        fc.record({
          singlePodsQPS: fc.integer({ min: 1, max: 1000 }),
          totalQPS: fc.integer({ min: 0, max: 100_000 }),
          maxReplicas: fc.integer({ min: 1, max: 1000 }),
          targetUtilization: fc.integer({ min: 1, max: 100 }),
          currentReplicas: fc.integer({ min: 0, max: 1000 }),
          readyReplicas: fc.integer({ min: 0, max: 1000 }),
        }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (input, a, b) => {
          const r = recommend({ ...input, observedQPS: a });
          assert.ok(r.replicas >= Math.min(r.floor, input.maxReplicas) && r.replicas <= input.maxReplicas);
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const noTolerance = { ...input, currentReplicas: 0 };
          assert.ok(
            recommend({ ...noTolerance, observedQPS: lo }).replicas <=
              recommend({ ...noTolerance, observedQPS: hi }).replicas,
          );
        },
      ),
    );
  });
});

describe('StabilizationWindow', () => {
  test('scales up at once and down only after the window, to the highest recommendation within it', () => {
    const w = new StabilizationWindow();
    assert.equal(w.apply('a', 0, 300_000, 10, 1), 10, 'up at once');
    assert.equal(w.apply('a', 60_000, 300_000, 4, 10), 10, 'a dip does not scale down');
    assert.equal(w.apply('a', 120_000, 300_000, 6, 10), 10);
    assert.equal(w.apply('a', 300_001, 300_000, 2, 10), 6, 'the 10 aged out; 6 and 4 are in the window');
    assert.equal(w.apply('a', 420_001, 300_000, 2, 6), 2, 'everything higher aged out');
  });

  test('on first sight it is seeded with the current replicas: no scale-down before a full window (a restart)', () => {
    const w = new StabilizationWindow();
    assert.equal(w.apply('a', 1000, 300_000, 1, 8), 8);
    assert.equal(w.apply('a', 200_000, 300_000, 1, 8), 8);
    assert.equal(w.apply('a', 301_001, 300_000, 1, 8), 1);
  });

  test('keys are independent; forget() starts a key over', () => {
    const w = new StabilizationWindow();
    w.apply('a', 0, 1000, 5, 5);
    assert.equal(w.apply('b', 0, 1000, 2, 2), 2);
    w.forget('a');
    assert.equal(w.has('a'), false);
    assert.equal(w.apply('a', 10, 1000, 1, 3), 3, 'seeded again');
  });
});

describe('the traffic query', () => {
  test('the default selects the pods of the Deployment by namespace and pod name, over a window', () => {
    const q = renderQuery(defaultTrafficQuery(), { namespace: 'shop', name: 'web', window: '1m' });
    assert.equal(
      q,
      'sum(rate(nginx_http_requests_total{namespace="shop",pod=~"web-[a-z0-9]+-[a-z0-9]+"}[1m])) or sum(rate(http_requests_total{namespace="shop",pod=~"web-[a-z0-9]+-[a-z0-9]+"}[1m]))',
    );
    assert.ok(usesWindow(defaultTrafficQuery()));
  });

  test('label values are escaped for a PromQL string; a custom query without a window is used as it is', () => {
    assert.equal(
      renderQuery('x{n="{{name}}",ns="{{namespace}}"}', { namespace: 'a"b', name: 'c\\d', window: '1m' }),
      'x{n="c\\\\d",ns="a\\"b"}',
    );
    assert.equal(usesWindow('sum(rate(x[2m]))'), false);
  });
});
