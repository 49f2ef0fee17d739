/** replicaPlan: replicas = min(ceil(totalQPS / singlePodsQPS), maxReplicas). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { defaults } from '../../src/api/v1/elasticweb.ts';
import { replicaPlan } from '../../src/controllers/elasticweb/desired.ts';

const qps = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const podQps = fc.integer({ min: 1, max: 2 ** 31 - 1 });
const maxReplicas = fc.integer({ min: 1, max: 10_000 });

describe('replicaPlan', () => {
  test('examples: 300/100 -> 3, 301/100 -> 4, 0 -> 0, 99/100 -> 1', () => {
    const plan = (totalQPS: number, singlePodsQPS = 100) =>
      replicaPlan({ image: 'x', totalQPS, singlePodsQPS }).replicas;
    assert.deepEqual([plan(300), plan(301), plan(0), plan(99), plan(100), plan(1)], [3, 4, 0, 1, 1, 1]);
  });

  test('when not capped, the replicas serve totalQPS and one replica fewer would not', () => {
    fc.assert(
      fc.property(qps, podQps, maxReplicas, (totalQPS, singlePodsQPS, max) => {
        const plan = replicaPlan({ image: 'x', totalQPS, singlePodsQPS, maxReplicas: max });
        fc.pre(!plan.capped);
        assert.ok(Number.isInteger(plan.replicas));
        assert.ok(plan.replicas * singlePodsQPS >= totalQPS, 'enough capacity');
        if (plan.replicas > 0) assert.ok((plan.replicas - 1) * singlePodsQPS < totalQPS, 'no spare pod');
        assert.equal(plan.replicas, plan.needed);
        assert.ok(plan.replicas <= max);
      }),
    );
  });

  test('when capped, replicas is maxReplicas and the need is above it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        (max, pod, excess) => {
          // Any totalQPS above what maxReplicas pods serve.
          const totalQPS = max * pod + excess;
          const plan = replicaPlan({ image: 'x', totalQPS, singlePodsQPS: pod, maxReplicas: max });
          assert.equal(plan.capped, true);
          assert.equal(plan.replicas, max);
          assert.equal(plan.maxReplicas, max);
          assert.ok(plan.needed > max);
          assert.ok(plan.needed * pod >= totalQPS);
        },
      ),
    );
  });

  test('capped is true exactly when the need exceeds maxReplicas, and replicas never exceed it', () => {
    fc.assert(
      fc.property(qps, podQps, maxReplicas, (totalQPS, singlePodsQPS, max) => {
        const plan = replicaPlan({ image: 'x', totalQPS, singlePodsQPS, maxReplicas: max });
        assert.equal(plan.capped, plan.needed > max);
        assert.equal(plan.replicas, Math.min(plan.needed, max));
        assert.ok(plan.replicas >= 0 && plan.replicas <= max);
      }),
    );
  });

  test('an absent totalQPS means 0 replicas, not capped', () => {
    assert.deepEqual(replicaPlan({ image: 'x', singlePodsQPS: 100 }), {
      replicas: 0,
      needed: 0,
      maxReplicas: defaults.maxReplicas,
      capped: false,
    });
  });

  test('an absent maxReplicas defaults to 100', () => {
    const plan = replicaPlan({ image: 'x', singlePodsQPS: 1, totalQPS: 1000 });
    assert.deepEqual(plan, { replicas: 100, needed: 1000, maxReplicas: 100, capped: true });
  });

  test('singlePodsQPS of 0 or below never divides by zero: it counts as 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 0 }), fc.integer({ min: 0, max: 50 }), (pod, totalQPS) => {
        const plan = replicaPlan({ image: 'x', singlePodsQPS: pod, totalQPS });
        assert.ok(Number.isFinite(plan.needed));
        assert.equal(plan.needed, totalQPS);
        assert.equal(plan.replicas, totalQPS);
      }),
    );
  });

  test('a negative totalQPS counts as 0', () => {
    assert.equal(replicaPlan({ image: 'x', singlePodsQPS: 10, totalQPS: -50 }).replicas, 0);
  });
});
