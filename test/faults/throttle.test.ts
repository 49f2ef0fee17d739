/**
 * Conflicts and throttling. The API server admits one mutating and two read requests at a time from
 * everyone but the admin (classic max-in-flight limits, which answer 429 with Retry-After), and two
 * other writers fight the operator over the same objects with read-modify-write updates, which get
 * 409 Conflict whenever the operator wrote in between. The operator must back off as told, keep its
 * request rate bounded, and lose nothing.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import type { RawClient } from '../../hack/cluster/raw-client.ts';
import { deploymentPath, ewPath, installCrd } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import { createMany, metricSum, operatorCounters, reportFigures, waitConverged } from './support.ts';

let cluster: LocalCluster | undefined;
let op: OperatorProcess | undefined;
after(async () => {
  await op?.stop();
  await cluster?.stop();
});

/**
 * GET, change, PUT with the resourceVersion read: a 409 means someone wrote in between; try again.
 * Returns the conflicts met, or undefined when the object does not exist (yet).
 */
async function readModifyWrite(
  admin: RawClient,
  path: string,
  change: (obj: Record<string, unknown>) => void,
): Promise<number | undefined> {
  let conflicts = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const got = await admin.request('GET', path);
    if (got.status === 404) return undefined;
    const obj = got.json<Record<string, unknown>>();
    change(obj);
    // Think time, as a person editing would have: others (the operator, the other writer) write meanwhile.
    await new Promise((r) => setTimeout(r, 50));
    const res = await admin.request('PUT', path, obj);
    if (res.status === 200) return conflicts;
    assert.equal(res.status, 409, `PUT ${path}: ${res.body}`);
    conflicts++;
  }
  throw new Error(`PUT ${path} conflicted 20 times in a row`);
}

test('429 with Retry-After and 409 from competing writers: it backs off, stays bounded, loses nothing', async () => {
  cluster = await LocalCluster.start({
    mode: 'api',
    apiServerArgs: [
      '--enable-priority-and-fairness=false',
      '--max-requests-inflight=2',
      '--max-mutating-requests-inflight=1',
    ],
  });
  const admin = cluster.admin; // system:masters: exempt from the limits, so the test itself is not throttled
  await installCrd(admin);
  const kubeconfig = await cluster.writeServiceAccountKubeconfig('elasticweb-system', 'operator');
  await admin.must('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: 'operator-admin' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: 'elasticweb-system' }],
  });
  op = await OperatorProcess.start(kubeconfig);
  await op?.waitReady(60_000);

  const ns = 'throttled';
  const count = 100;
  const names = await createMany(admin, ns, count, () => ({
    image: 'nginx:1.17.1',
    singlePodsQPS: 100,
    totalQPS: 200,
  }));

  // The operator's request rate, sampled every second, while two writers fight it for 20 s.
  const rates: number[] = [];
  const throttledRates: number[] = [];
  const sampling = new AbortController();
  const operator = op;
  const sample = async () => [
    await metricSum(operator, 'rest_client_requests_total'),
    await metricSum(operator, 'rest_client_requests_total', 'code="429"'),
  ];
  const sampler = (async () => {
    let last = await sample();
    while (!sampling.signal.aborted) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await sample().catch(() => last);
      rates.push((now[0] ?? 0) - (last[0] ?? 0));
      throttledRates.push((now[1] ?? 0) - (last[1] ?? 0));
      last = now;
    }
  })();
  after(() => sampling.abort());
  const finalQps = new Map<string, number>();
  let writerConflicts = 0;
  let writes = 0;
  const deadline = Date.now() + 20_000;
  // Both writers walk the same objects in the same order, so they also collide with each other.
  const fighter = async (offset: number) => {
    for (let i = offset; Date.now() < deadline && i < 10_000; i++) {
      const name = names[Math.floor(i / 2) % 5] as string;
      if (i % 2 === 0) {
        const qps = 100 * (1 + (i % 5));
        const conflicts = await readModifyWrite(admin, ewPath(ns, name), (o) => {
          (o.spec as { totalQPS: number }).totalQPS = qps;
        });
        finalQps.set(name, qps);
        writerConflicts += conflicts ?? 0;
        writes++;
      } else {
        const conflicts = await readModifyWrite(admin, deploymentPath(ns, name), (o) => {
          (o.spec as { replicas: number }).replicas = 9;
        });
        if (conflicts !== undefined) {
          writerConflicts += conflicts;
          writes++;
        }
      }
    }
  };
  await Promise.all([fighter(0), fighter(0)]);
  const fightEnded = Date.now();
  const recoveryMs = await waitConverged(admin, ns, 240_000);
  sampling.abort();
  await sampler;

  for (const [name, qps] of finalQps) {
    const d = (await admin.must('GET', deploymentPath(ns, name))).json<{ spec: { replicas: number } }>();
    assert.equal(d.spec.replicas, Math.ceil(qps / 100), `${name}: the last totalQPS written wins`);
  }
  const throttled = await metricSum(op, 'rest_client_requests_total', 'code="429"');
  const counters = await operatorCounters(op);
  assert.ok(throttled > 0, 'the API server throttled the operator (429)');
  assert.ok(counters.serverAskedRetries > 0, 'it retried as the server asked');
  const waits = op.logs
    .filter((l) => l.msg === 'server asked to retry later')
    .map((l) => Number(l.waitSeconds));
  assert.ok(
    waits.length > 0 && waits.every((w) => w >= 1),
    'every retry waited at least the Retry-After second',
  );
  // Bounded: a request refused with 429 is retried only after its Retry-After second, so refusals
  // per second cannot exceed the requests the operator has in flight at once: 5 reconcile workers
  // and 4 event senders (doubled for sampling windows that straddle a retry). A retry storm would
  // show hundreds.
  const peak = Math.max(...rates);
  const peakThrottled = Math.max(...throttledRates);
  assert.ok(peakThrottled <= 2 * (5 + 4), `429s per second peaked at ${peakThrottled}`);
  assert.equal(op.child.exitCode, null, 'the operator kept running');
  reportFigures('conflicts and throttling', {
    elasticWebs: count,
    competingWrites: writes,
    writerConflicts409: writerConflicts,
    operator409: await metricSum(op, 'rest_client_requests_total', 'code="409"'),
    operator429: throttled,
    peakRequestsPerSecond: peak,
    peak429PerSecond: peakThrottled,
    convergedAfterFightMs: recoveryMs,
    fightMs: fightEnded - (deadline - 20_000),
    ...counters,
  });
});
