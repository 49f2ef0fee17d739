/** computeStatus and sameJson: the status an ElasticWeb shows, from what was observed. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Condition, ElasticWeb } from '../../src/api/v1/elasticweb.ts';
import { replicaPlan } from '../../src/controllers/elasticweb/desired.ts';
import {
  computeStatus,
  type Observed,
  type ObservedDeployment,
  type Problem,
  sameJson,
} from '../../src/controllers/elasticweb/status.ts';
import { elasticWeb } from './support/elasticweb.ts';

const t0 = new Date('2024-05-01T10:00:00.123Z');
const t1 = new Date('2024-05-01T10:05:00.456Z');

/** A Deployment that has rolled out `replicas` pods, `ready` of them Ready. */
function deployment(replicas: number, ready = replicas, generation = 1): ObservedDeployment {
  return {
    metadata: { generation },
    spec: { replicas },
    status: { observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: ready },
  };
}

function observe(
  ew: ElasticWeb,
  options: {
    deployment?: ObservedDeployment | undefined;
    nodePort?: number;
    problem?: Problem;
    now?: Date;
  } = {},
): Observed {
  const plan = replicaPlan(ew.spec);
  return {
    ew,
    plan,
    deployment: 'deployment' in options ? options.deployment : deployment(plan.replicas),
    service: { spec: { ports: [options.nodePort !== undefined ? { nodePort: options.nodePort } : {}] } },
    problem: options.problem,
    now: options.now ?? t0,
  };
}

function condition(conditions: Condition[] | undefined, type: string): Condition {
  const c = conditions?.find((x) => x.type === type);
  assert.ok(c, `condition ${type}`);
  return c;
}

function summary(conditions: Condition[] | undefined): Record<string, string> {
  return Object.fromEntries((conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
}

describe('computeStatus: numbers', () => {
  test('realQPS is readyReplicas x singlePodsQPS, not what was asked for', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 10_000 }), (ready, pod) => {
        const ew = elasticWeb({ totalQPS: 100 * pod, singlePodsQPS: pod });
        const status = computeStatus(observe(ew, { deployment: deployment(100, ready) }));
        assert.equal(status.realQPS, ready * pod);
        assert.equal(status.readyReplicas, ready);
      }),
    );
  });

  test('realQPS stays within int32, as the schema requires', () => {
    const ew = elasticWeb({ totalQPS: 2 ** 31 - 1, singlePodsQPS: 2 ** 30, maxReplicas: 10 });
    const status = computeStatus(observe(ew, { deployment: deployment(2, 2) }));
    assert.equal(status.realQPS, 2 ** 31 - 1);
  });

  test('replicas is the plan, ready shows readyReplicas/replicas, and nodePort comes from the Service', () => {
    const ew = elasticWeb({ totalQPS: 500, singlePodsQPS: 100 });
    const status = computeStatus(observe(ew, { deployment: deployment(5, 2), nodePort: 30123 }));
    assert.equal(status.replicas, 5);
    assert.equal(status.ready, '2/5');
    assert.equal(status.nodePort, 30123);
  });

  test('without a Deployment nothing is ready, and without a nodePort the field is left out', () => {
    const status = computeStatus(observe(elasticWeb(), { deployment: undefined }));
    assert.equal(status.readyReplicas, 0);
    assert.equal(status.realQPS, 0);
    assert.equal('nodePort' in status, false);
  });

  test('observedGeneration is the ElasticWeb generation, on the status and on every condition', () => {
    const ew = elasticWeb({}, { generation: 7 });
    const status = computeStatus(observe(ew));
    assert.equal(status.observedGeneration, 7);
    for (const c of status.conditions ?? []) assert.equal(c.observedGeneration, 7, c.type);
    const noGeneration = elasticWeb({}, { generation: undefined });
    assert.equal('observedGeneration' in computeStatus(observe(noGeneration)), false);
  });
});

describe('computeStatus: conditions', () => {
  test('there are exactly the three conditions Available, Progressing and Degraded', () => {
    const status = computeStatus(observe(elasticWeb()));
    assert.deepEqual(
      status.conditions?.map((c) => c.type),
      ['Available', 'Progressing', 'Degraded'],
    );
  });

  test('all pods Ready and rolled out: Available, not Progressing, not Degraded', () => {
    const status = computeStatus(observe(elasticWeb({ totalQPS: 300, singlePodsQPS: 100 })));
    assert.deepEqual(summary(status.conditions), {
      Available: 'True/ReplicasReady',
      Progressing: 'False/RolloutComplete',
      Degraded: 'False/AsExpected',
    });
  });

  test('some pods not Ready yet: not Available, Progressing (RollingOut)', () => {
    const ew = elasticWeb({ totalQPS: 300, singlePodsQPS: 100 });
    const status = computeStatus(observe(ew, { deployment: deployment(3, 1) }));
    assert.deepEqual(summary(status.conditions), {
      Available: 'False/ReplicasNotReady',
      Progressing: 'True/RollingOut',
      Degraded: 'False/AsExpected',
    });
    assert.match(condition(status.conditions, 'Available').message, /1\/3/);
  });

  test('a Deployment whose controller has not seen the newest generation is still Progressing', () => {
    const ew = elasticWeb({ totalQPS: 300, singlePodsQPS: 100 });
    const d = deployment(3, 3, 5);
    d.metadata.generation = 6;
    assert.equal(
      condition(computeStatus(observe(ew, { deployment: d })).conditions, 'Progressing').reason,
      'RollingOut',
    );
  });

  test('a Deployment whose spec.replicas is not the plan yet is still Progressing', () => {
    const ew = elasticWeb({ totalQPS: 500, singlePodsQPS: 100 });
    assert.equal(
      condition(computeStatus(observe(ew, { deployment: deployment(3, 3) })).conditions, 'Progressing')
        .status,
      'True',
    );
  });

  test('totalQPS 0: Available (ScaledToZero)', () => {
    const status = computeStatus(observe(elasticWeb({ totalQPS: 0 })));
    assert.equal(condition(status.conditions, 'Available').status, 'True');
    assert.equal(condition(status.conditions, 'Available').reason, 'ScaledToZero');
  });

  test('no Deployment yet: not Available (DeploymentNotFound), Progressing (Creating)', () => {
    const status = computeStatus(observe(elasticWeb(), { deployment: undefined }));
    assert.deepEqual(summary(status.conditions), {
      Available: 'False/DeploymentNotFound',
      Progressing: 'True/Creating',
      Degraded: 'False/AsExpected',
    });
  });

  test('a problem makes Degraded True with its reason and message', () => {
    const problem = { reason: 'NodePortConflict', message: 'port 30080 is taken' };
    const status = computeStatus(observe(elasticWeb(), { problem }));
    const degraded = condition(status.conditions, 'Degraded');
    assert.equal(degraded.status, 'True');
    assert.equal(degraded.reason, 'NodePortConflict');
    assert.equal(degraded.message, 'port 30080 is taken');
  });

  test('a problem with no Deployment stops Progressing with the same reason', () => {
    const problem = { reason: 'ApplyFailed', message: 'forbidden' };
    const status = computeStatus(observe(elasticWeb(), { problem, deployment: undefined }));
    assert.equal(summary(status.conditions).Progressing, 'False/ApplyFailed');
    assert.equal(summary(status.conditions).Degraded, 'True/ApplyFailed');
  });

  test('a capped plan makes Degraded True with MaxReplicasReached, naming the numbers', () => {
    const ew = elasticWeb({ totalQPS: 1000, singlePodsQPS: 10, maxReplicas: 5 });
    const status = computeStatus(observe(ew));
    const degraded = condition(status.conditions, 'Degraded');
    assert.equal(degraded.status, 'True');
    assert.equal(degraded.reason, 'MaxReplicasReached');
    assert.match(degraded.message, /needs 100 pods but maxReplicas is 5: at most 50 QPS/);
  });

  test('a problem outranks the cap in Degraded', () => {
    const ew = elasticWeb({ totalQPS: 1000, singlePodsQPS: 10, maxReplicas: 5 });
    const status = computeStatus(observe(ew, { problem: { reason: 'ResourceNotOwned', message: 'x' } }));
    assert.equal(condition(status.conditions, 'Degraded').reason, 'ResourceNotOwned');
  });

  test('every reason is CamelCase as the Condition schema requires, and every status True or False', () => {
    const reasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        fc.boolean(),
        (totalQPS, pod, max, ready, problem) => {
          const ew = elasticWeb({ totalQPS, singlePodsQPS: pod, maxReplicas: max });
          const plan = replicaPlan(ew.spec);
          const status = computeStatus(
            observe(ew, {
              deployment: ready === undefined ? undefined : deployment(plan.replicas, ready),
              ...(problem ? { problem: { reason: 'ApplyFailed', message: 'm' } } : {}),
            }),
          );
          for (const c of status.conditions ?? []) {
            assert.match(c.reason, reasonPattern);
            assert.ok(c.status === 'True' || c.status === 'False');
            assert.ok(c.message.length > 0);
          }
        },
      ),
    );
  });
});

describe('computeStatus: lastTransitionTime', () => {
  test('is the observation time in RFC 3339 without fractional seconds', () => {
    const status = computeStatus(observe(elasticWeb(), { now: t0 }));
    for (const c of status.conditions ?? []) assert.equal(c.lastTransitionTime, '2024-05-01T10:00:00Z');
  });

  test('is kept when a condition keeps its status, even if the reason or message changes', () => {
    const ew = elasticWeb({ totalQPS: 300, singlePodsQPS: 100 });
    ew.status = computeStatus(observe(ew, { now: t0, deployment: deployment(3, 1) }));
    // Later: still not Available (now 2/3 Ready), still Progressing.
    const later = computeStatus(observe(ew, { now: t1, deployment: deployment(3, 2) }));
    for (const c of later.conditions ?? [])
      assert.equal(c.lastTransitionTime, '2024-05-01T10:00:00Z', c.type);
    assert.match(condition(later.conditions, 'Available').message, /2\/3/);
  });

  test('changes when a condition flips status', () => {
    const ew = elasticWeb({ totalQPS: 300, singlePodsQPS: 100 });
    ew.status = computeStatus(observe(ew, { now: t0, deployment: deployment(3, 1) }));
    const later = computeStatus(observe(ew, { now: t1, deployment: deployment(3, 3) }));
    assert.equal(condition(later.conditions, 'Available').lastTransitionTime, '2024-05-01T10:05:00Z');
    assert.equal(condition(later.conditions, 'Progressing').lastTransitionTime, '2024-05-01T10:05:00Z');
    assert.equal(
      condition(later.conditions, 'Degraded').lastTransitionTime,
      '2024-05-01T10:00:00Z',
      'Degraded stayed False',
    );
  });

  test('recomputing from an unchanged world gives the same status (no needless status writes)', () => {
    const ew = elasticWeb({ totalQPS: 300, singlePodsQPS: 100 });
    ew.status = computeStatus(observe(ew, { now: t0 }));
    assert.ok(sameJson(computeStatus(observe(ew, { now: t1 })), ew.status));
  });
});

describe('sameJson', () => {
  test('a JSON value equals its deep copy', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => assert.ok(sameJson(v, structuredClone(v)))));
  });

  test('key order does not matter', () => {
    assert.ok(sameJson({ a: 1, b: { c: 2, d: [1, 2] } }, { b: { d: [1, 2], c: 2 }, a: 1 }));
  });

  test('a key holding undefined is the same as an absent key', () => {
    assert.ok(sameJson({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(sameJson({ a: 1 }, { a: 1, b: undefined }));
  });

  test('different values, lengths, orders and types are not the same', () => {
    assert.equal(sameJson({ a: 1 }, { a: 2 }), false);
    assert.equal(sameJson({ a: 1 }, { a: 1, b: 2 }), false);
    assert.equal(sameJson([1, 2], [2, 1]), false);
    assert.equal(sameJson([1], [1, 1]), false);
    assert.equal(sameJson([], {}), false);
    assert.equal(sameJson({}, []), false);
    assert.equal(sameJson(null, {}), false);
    assert.equal(sameJson('1', 1), false);
    assert.equal(sameJson({ a: null }, { a: undefined }), false);
  });

  test('is symmetric', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        assert.equal(sameJson(a, b), sameJson(b, a));
      }),
    );
  });

  test('agrees with deepStrictEqual after sorting keys', () => {
    const canonical = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(canonical)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
            )
          : Object.is(v, -0)
            ? 0
            : v;
    const small = fc.jsonValue({ maxDepth: 2 });
    fc.assert(
      fc.property(small, small, (a, b) => {
        let equal = true;
        try {
          assert.deepStrictEqual(canonical(a), canonical(b));
        } catch {
          equal = false;
        }
        assert.equal(sameJson(a, b), equal);
      }),
    );
  });
});
