/**
 * The secure metrics endpoint against a real API server (api mode), with the RBAC of config/default
 * applied as `make deploy` applies it: the reviews are made with the operator's own ServiceAccount
 * token, so its metrics-auth-role is proven enough; scrapers get 401 without a valid token, 403
 * without metrics-reader, 200 with it; nothing of a token reaches the logs. It also measures what
 * authentication costs a scrape: review calls, and latency against the same render over plain HTTP.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import {
  close,
  createLogger,
  KubeClient,
  loadRestConfig,
  Metrics,
  type RequestRecord,
  type SecureMetrics,
  serve,
  startSecureMetrics,
} from '../../src/runtime/index.ts';
import { kubectlApply, renderKustomize } from '../support/kustomize.ts';
import { waitFor } from '../support/operator.ts';

const systemNs = 'elasticweb-system';
const operatorSa = 'elasticweb-controller-manager';

let cluster: LocalCluster;
let client: KubeClient;
let secure: SecureMetrics;
let logged = '';
const requests: RequestRecord[] = [];
const metrics = new Metrics();
const agent = new Agent({ connect: { rejectUnauthorized: false }, connections: 1 });
const tokens = { reader: '', stranger: '', lateReader: '', cold: '' };

const reviewCalls = () =>
  requests.filter((r) => r.method === 'POST' && /(tokenreviews|subjectaccessreviews)$/.test(r.path)).length;

async function scrape(token?: string, url = `https://${secure.address}/metrics`) {
  const started = performance.now();
  const res = await request(url, {
    dispatcher: agent,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  const body = await res.body.text();
  return { status: res.statusCode, body, ms: performance.now() - started };
}

async function bindReader(namespace: string, name: string): Promise<void> {
  await cluster.admin.must('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: `${namespace}-${name}-metrics-reader` },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'elasticweb-metrics-reader',
    },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
}

before(async () => {
  cluster = await LocalCluster.start({ mode: 'api' });
  await kubectlApply(cluster.kubeconfigPath, await renderKustomize('config/default'));
  const operatorKubeconfig = await cluster.writeServiceAccountKubeconfig(systemNs, operatorSa);
  client = new KubeClient(await loadRestConfig(operatorKubeconfig), {
    userAgent: 'elasticweb-operator-test',
    onResponse: (r) => requests.push(r),
  });
  const out = new PassThrough();
  out.on('data', (chunk) => {
    logged += chunk;
  });
  const started = await startSecureMetrics({
    address: '127.0.0.1:0',
    client,
    fieldManager: 'elasticweb-operator',
    render: () => metrics.render(),
    log: createLogger({ level: 'trace', destination: out }),
  });
  assert.ok(started);
  secure = started;
  tokens.reader = await cluster.tokenFor('monitoring', 'prometheus');
  await bindReader('monitoring', 'prometheus');
  tokens.stranger = await cluster.tokenFor('apps', 'web');
  tokens.lateReader = await cluster.tokenFor('monitoring', 'late');
});

after(async () => {
  await secure?.close();
  await agent.close();
  await client?.close();
  await cluster?.stop();
});

describe('secure metrics against a real API server', () => {
  test('no token: 401, and the API server is not asked', async () => {
    const res = await scrape();
    assert.equal(res.status, 401);
    assert.equal(reviewCalls(), 0);
  });

  test('a token the API server did not issue: 401', async () => {
    assert.equal((await scrape('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl')).status, 401);
  });

  test('a valid ServiceAccount token without metrics-reader: 403', async () => {
    const res = await scrape(tokens.stranger);
    assert.equal(res.status, 403);
    assert.match(res.body, /system:serviceaccount:apps:web/);
  });

  test('a token bound to elasticweb-metrics-reader: 200 with the metrics', async () => {
    const res = await scrape(tokens.reader);
    assert.equal(res.status, 200);
    assert.match(res.body, /^process_resident_memory_bytes \d+/m);
    assert.match(res.body, /# TYPE controller_runtime_reconcile_total counter/);
  });

  test('the reviews were made as the operator ServiceAccount, and its deployed roles allowed them', () => {
    const reviews = requests.filter((r) => r.method === 'POST');
    assert.deepEqual([...new Set(reviews.map((r) => `${r.path} ${r.status}`))].sort(), [
      '/apis/authentication.k8s.io/v1/tokenreviews 201',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews 201',
    ]);
  });

  test('a role granted after a 403 takes effect once the cached denial expires', async () => {
    // A second endpoint with a 2-second cache, so the expiry shows within the test (the default is 60 s).
    const short = await startSecureMetrics({
      address: '127.0.0.1:0',
      client,
      fieldManager: 'elasticweb-operator',
      render: () => metrics.render(),
      log: createLogger({ level: 'silent' }),
      reviewTtlMs: 2000,
    });
    assert.ok(short);
    const url = `https://${short.address}/metrics`;
    try {
      assert.equal((await scrape(tokens.lateReader, url)).status, 403);
      const boundAt = Date.now();
      await bindReader('monitoring', 'late');
      assert.equal((await scrape(tokens.lateReader, url)).status, 403, 'the denial is still cached');
      assert.equal(short.reviewer.reviews, 2, 'one review pair so far');
      await waitFor('the binding to be seen', async () =>
        (await scrape(tokens.lateReader, url)).status === 200 ? true : undefined,
      );
      const tookMs = Date.now() - boundAt;
      assert.ok(tookMs >= 1500, `allowed only after the cached denial expired (${tookMs} ms)`);
      assert.equal(short.reviewer.reviews, 4, 'then one new review pair');
    } finally {
      await short.close();
    }
  });

  test('scrape cost: one review pair per token per minute; latency against plain HTTP', async () => {
    const plain = await serve('127.0.0.1:0', {
      '/metrics': async () => ({ status: 200, ...(await metrics.render()) }),
    });
    assert.ok(plain);
    try {
      const n = 100;
      const time = async (fn: () => Promise<{ status: number; ms: number }>) => {
        const ms: number[] = [];
        for (let i = 0; i < n; i++) {
          const r = await fn();
          assert.equal(r.status, 200);
          ms.push(r.ms);
        }
        ms.sort((a, b) => a - b);
        return { p50: ms[n / 2] as number, p99: ms[n - 2] as number, mean: ms.reduce((a, b) => a + b) / n };
      };
      const plainAgent = new Agent({ connections: 1 });
      const plainScrape = async () => {
        const started = performance.now();
        const res = await request(`http://${plain.address}/metrics`, { dispatcher: plainAgent });
        await res.body.text();
        return { status: res.statusCode, ms: performance.now() - started };
      };
      await time(plainScrape); // warm both paths up (JIT, connections)
      await scrape(tokens.reader);
      const reviewsBefore = reviewCalls();
      const httpsTimes = await time(() => scrape(tokens.reader));
      const plainTimes = await time(plainScrape);
      await plainAgent.close();
      const warmReviews = reviewCalls() - reviewsBefore;

      // A token not seen before: one TokenReview and one SubjectAccessReview, then none.
      const cold = await cluster.tokenFor('monitoring', 'prometheus', 3600);
      tokens.cold = cold;
      const coldBefore = reviewCalls();
      const first = await scrape(cold);
      const afterFirst = reviewCalls() - coldBefore;
      const second = await scrape(cold);
      const afterSecond = reviewCalls() - coldBefore;
      const f = (x: number) => x.toFixed(2);
      console.log(
        `# metrics scrape cost (${n} scrapes, keep-alive, body ${(first.body.length / 1024).toFixed(1)} KiB): ` +
          `HTTPS+token warm p50 ${f(httpsTimes.p50)} ms, p99 ${f(httpsTimes.p99)} ms, mean ${f(httpsTimes.mean)} ms; ` +
          `plain HTTP p50 ${f(plainTimes.p50)} ms, p99 ${f(plainTimes.p99)} ms, mean ${f(plainTimes.mean)} ms; ` +
          `review calls: ${warmReviews} for the ${n} warm scrapes, ${afterFirst} for a new token's first scrape ` +
          `(${f(first.ms)} ms), ${afterSecond - afterFirst} for its second (${f(second.ms)} ms)`,
      );
      assert.equal(warmReviews, 0, 'a warm token costs no review');
      assert.equal(afterFirst, 2, 'a new token costs one TokenReview and one SubjectAccessReview');
      assert.equal(afterSecond, 2, 'and nothing more within the minute');
    } finally {
      await close(plain.server);
    }
  });

  test('no token, nor any part of one, reached the logs (at trace level)', () => {
    assert.match(logged, /metrics access reviewed/, 'the decisions were logged');
    for (const token of Object.values(tokens)) {
      assert.ok(token.length > 100);
      for (const part of token.split('.'))
        assert.ok(!logged.includes(part), 'a token segment is in the logs');
    }
  });
});
