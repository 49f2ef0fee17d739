/**
 * The cache's transforms keep every field desired.ts sets: otherwise the drift check would see a
 * field it wrote as missing, and write it again on every reconcile. Checked for many specs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ElasticWebSpec } from '../../src/api/v1/elasticweb.ts';
import {
  slimDeployment,
  slimDisruptionBudget,
  slimService,
} from '../../src/controllers/elasticweb/cached-objects.ts';
import {
  deploymentExact,
  desiredDeployment,
  desiredDisruptionBudget,
  desiredService,
  disruptionBudgetExact,
  serviceExact,
} from '../../src/controllers/elasticweb/desired.ts';
import { findDrift } from '../../src/runtime/reconcile/drift.ts';
import { elasticWeb } from './support/elasticweb.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures poke into nested JSON
type Loose = any;

/** What the API server returns for an object it stored: ours plus metadata it adds. */
function stored<T extends { metadata: object }>(desired: T): Loose {
  const live: Loose = structuredClone(desired);
  Object.assign(live.metadata, {
    uid: 'u',
    resourceVersion: '9',
    generation: 2,
    annotations: { 'deployment.kubernetes.io/revision': '1' },
    managedFields: [{ manager: 'x', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
  });
  return live;
}

const specs = fc.record(
  {
    image: fc.constantFrom('nginx:1.17.1', 'registry.example/app:2'),
    containerPort: fc.integer({ min: 1, max: 65535 }),
    totalQPS: fc.integer({ min: 0, max: 10_000 }),
    singlePodsQPS: fc.integer({ min: 1, max: 1000 }),
    port: fc.integer({ min: 30000, max: 32767 }),
    resources: fc.record({ requests: fc.constant({ cpu: '250m' }), limits: fc.constant({ memory: '1Gi' }) }),
    readinessProbe: fc.oneof(
      fc.record({
        httpGet: fc.record({ path: fc.constant('/healthz') }),
        periodSeconds: fc.integer({ min: 1, max: 10 }),
      }),
      fc.record({ tcpSocket: fc.constant({}), initialDelaySeconds: fc.integer({ min: 0, max: 5 }) }),
    ),
    preStopDelaySeconds: fc.integer({ min: 0, max: 20 }),
    terminationGracePeriodSeconds: fc.integer({ min: 21, max: 60 }),
    securityContext: fc.constant({ runAsNonRoot: true, runAsUser: 101 }),
    autoscaling: fc.oneof(
      fc.constant({ mode: 'Declared' as const }),
      fc.constant({ mode: 'Observed' as const }),
      fc.constant({ mode: 'Observed' as const, exporter: { enabled: false }, metricsPort: 8081 }),
    ),
  },
  { requiredKeys: ['image', 'singlePodsQPS'] },
);

describe('the cache transforms keep what desired.ts sets', () => {
  test('a stored Deployment, Service and PodDisruptionBudget, cut down, still hold all of their desired form', () => {
    fc.assert(
      fc.property(specs, (spec) => {
        const ew = elasticWeb(spec as Partial<ElasticWebSpec>);
        const deployment = desiredDeployment(ew);
        const want = (o: { metadata: unknown; spec: unknown }) => ({ metadata: o.metadata, spec: o.spec });
        assert.equal(
          findDrift(want(deployment), slimDeployment(stored(deployment)), { exact: deploymentExact }),
          undefined,
        );
        const service = desiredService(ew);
        assert.equal(
          findDrift(want(service), slimService(stored(service)), { exact: serviceExact }),
          undefined,
        );
        const budget = desiredDisruptionBudget(ew);
        assert.equal(
          findDrift(want(budget), slimDisruptionBudget(stored(budget)), { exact: disruptionBudgetExact }),
          undefined,
        );
      }),
      { numRuns: 300 },
    );
  });

  test('they drop what the controller never reads: annotations and managedFields', () => {
    const slim = slimDeployment(stored(desiredDeployment(elasticWeb())));
    assert.equal((slim.metadata as Loose).annotations, undefined);
    assert.equal(slim.metadata.managedFields, undefined);
  });
});
