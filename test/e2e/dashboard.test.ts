/**
 * Every query of the Grafana dashboard (config/grafana/elasticweb-operator.json) against a real
 * Prometheus that scraped the operator during an end-to-end run: the operator in this process on a
 * full local cluster, leading its Lease, with four ElasticWebs in two namespaces (one in Observed mode,
 * measured by this Prometheus). Each query must parse, and return data, except those on the metrics
 * still pending (test/support/pending-metrics.ts, empty today), which must still parse. The variables' label_values() list the ElasticWebs, and a selection of one
 * ElasticWeb shows only it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { freePort } from '../../hack/cluster/ports.ts';
import {
  createElasticWeb,
  createNamespace,
  ewPath,
  installCrd,
  type RunningOperator,
  startOperator,
  waitFor,
} from '../support/operator.ts';
import { metricNamesIn, pendingMetrics } from '../support/pending-metrics.ts';
import { Prometheus, type ScrapeTarget } from '../support/prometheus.ts';

const job = 'elasticweb-operator';
const lease = { namespace: 'elasticweb-system', id: 'elasticweb-operator.elasticweb.example.com' };
const elasticWebs = [
  { namespace: 'shop', name: 'web', spec: { image: 'nginx:1.17.1', singlePodsQPS: 800, totalQPS: 2400 } },
  { namespace: 'shop', name: 'api', spec: { image: 'nginx:1.17.1', singlePodsQPS: 500, totalQPS: 1000 } },
  { namespace: 'blog', name: 'site', spec: { image: 'nginx:1.17.1', singlePodsQPS: 100, totalQPS: 300 } },
  // Observed mode, measured by this test's Prometheus: kwok's pods serve no traffic, so its query is
  // a constant (42 QPS: one pod at 80% of 100 is 80, so one replica), which still travels the whole
  // way: Prometheus -> operator -> status.observedQPS -> elasticweb_observed_qps -> Prometheus.
  {
    namespace: 'blog',
    name: 'auto',
    spec: {
      image: 'nginx:1.17.1',
      singlePodsQPS: 100,
      totalQPS: 100,
      autoscaling: { mode: 'Observed', query: 'vector(42)' },
    },
  },
];

interface Board {
  panels: { type: string; title: string; targets?: { refId: string; expr: string }[] }[];
  templating: { list: { name: string; type: string; definition?: string }[] };
}
const board = JSON.parse(
  readFileSync(new URL('../../config/grafana/elasticweb-operator.json', import.meta.url), 'utf8'),
) as Board;
const queries = board.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })),
);

/** What Grafana sends for the dashboard's variables: a 20 s rate window suits a 1 s scrape interval. */
function substitute(expr: string, vars: { namespace: string; name: string }): string {
  return expr
    .replaceAll('$__rate_interval', '20s')
    .replaceAll('$job', job)
    .replaceAll('$namespace', vars.namespace)
    .replaceAll('$name', vars.name);
}

let cluster: LocalCluster;
let operator: RunningOperator;
let prometheus: Prometheus;

/**
 * How Prometheus reaches the operator. Plain HTTP while the manager serves plain metrics; once it
 * serves the secure endpoint (--metrics-secure), return instead
 *   { job, address, scheme: 'https', insecureSkipVerify: true, token: <a token bound to elasticweb-metrics-reader> }
 * (see test/e2e/metrics-auth.test.ts for making one).
 */
async function scrapeTarget(address: string): Promise<ScrapeTarget> {
  return { job, address };
}

before(async () => {
  cluster = await LocalCluster.start({ mode: 'full', nodes: 2 });
  await installCrd(cluster.admin);
  for (const ns of [lease.namespace, 'shop', 'blog']) await createNamespace(cluster.admin, ns);
  // Prometheus first, on the operator's future metrics address: the operator also asks it (Observed mode).
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  prometheus = await Prometheus.start([await scrapeTarget(metricsAddress)]);
  operator = await startOperator(cluster, {
    leaderElection: lease,
    metricsBindAddress: metricsAddress,
    prometheusUrl: prometheus.url,
    autoscalingIntervalMs: 2000,
  });
  for (const e of elasticWebs) await createElasticWeb(cluster.admin, e.namespace, e.name, e.spec);
  for (const e of elasticWebs) {
    await waitFor(`${e.namespace}/${e.name} to serve ${e.spec.totalQPS}`, async () => {
      const ew = (await cluster.admin.must('GET', ewPath(e.namespace, e.name))).json<{
        status?: { realQPS?: number };
      }>();
      return ew.status?.realQPS === e.spec.totalQPS ? true : undefined;
    });
  }
  // Some work while Prometheus watches, so rates and latencies have something to show.
  await cluster.admin.request(
    'PATCH',
    ewPath('shop', 'web'),
    { spec: { totalQPS: 3200 } },
    'application/merge-patch+json',
  );
  await waitFor(
    '25 s of scrapes',
    async () => {
      const r = await prometheus.query(
        `count_over_time(up{job="${job}"}[1m]) >= 25 and up{job="${job}"} == 1`,
      );
      return (r.data?.result.length ?? 0) > 0 ? true : undefined;
    },
    90_000,
  );
});

after(async () => {
  await prometheus?.stop();
  await operator?.stop();
  await cluster?.stop();
});

describe('the dashboard against a Prometheus that scraped the operator', () => {
  test('Prometheus scrapes the operator', async () => {
    const targets = await prometheus.targets();
    assert.equal(targets.length, 1);
    assert.equal(targets[0]?.health, 'up', targets[0]?.lastError);
  });

  test('the variables list the job, the namespaces and the ElasticWebs of a namespace', async () => {
    const vars = new Map(board.templating.list.map((v) => [v.name, v.definition ?? '']));
    const labelValues = async (definition: string, namespace: string) => {
      const m = /^label_values\((.+), (\w+)\)$/.exec(definition);
      assert.ok(m, definition);
      return prometheus.labelValues(m[2] as string, substitute(m[1] as string, { namespace, name: '.*' }));
    };
    assert.deepEqual(await labelValues(vars.get('job') as string, '.*'), [job]);
    assert.deepEqual(await labelValues(vars.get('namespace') as string, '.*'), ['blog', 'shop']);
    assert.deepEqual(await labelValues(vars.get('name') as string, 'shop'), ['api', 'web']);
    assert.deepEqual(await labelValues(vars.get('name') as string, 'shop|blog'), [
      'api',
      'auto',
      'site',
      'web',
    ]);
  });

  for (const q of queries) {
    const pending = metricNamesIn(q.expr).filter((m) => pendingMetrics.has(m));
    const what = pending.length
      ? `parses (pending ${pending.join(', ')}: data not required)`
      : 'parses and returns data';
    test(`${q.panel} (${q.refId}) ${what}`, async () => {
      const answer = await prometheus.query(substitute(q.expr, { namespace: '.*', name: '.*' }));
      assert.equal(answer.status, 'success', `${q.expr}: ${answer.errorType} ${answer.error}`);
      if (pending.length === 0)
        assert.ok((answer.data?.result.length ?? 0) > 0, `${q.expr} returned no data`);
    });
  }

  test('selecting one ElasticWeb shows only it', async () => {
    const perElasticWeb = queries.filter(
      (q) =>
        /elasticweb_(desired|real)_qps\{/.test(q.expr) &&
        !metricNamesIn(q.expr).some((m) => pendingMetrics.has(m)),
    );
    assert.ok(perElasticWeb.length >= 3);
    for (const q of perElasticWeb) {
      const answer = await prometheus.query(substitute(q.expr, { namespace: 'shop', name: 'web' }));
      const result = answer.data?.result ?? [];
      assert.ok(result.length > 0, q.expr);
      for (const series of result) {
        if (series.metric.name !== undefined)
          assert.deepEqual([series.metric.namespace, series.metric.name], ['shop', 'web'], q.expr);
      }
    }
    const count = await prometheus.query(
      substitute('count(elasticweb_desired_qps{job=~"$job", namespace=~"$namespace", name=~"$name"})', {
        namespace: 'shop',
        name: 'web|api',
      }),
    );
    assert.equal(count.data?.result[0]?.value?.[1], '2');
    const desired = await prometheus.query(
      substitute('elasticweb_desired_qps{job=~"$job", namespace=~"$namespace", name=~"$name"}', {
        namespace: 'shop',
        name: 'web',
      }),
    );
    assert.equal(desired.data?.result[0]?.value?.[1], '3200', 'the change made while Prometheus scraped');
  });
});
