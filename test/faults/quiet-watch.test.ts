/**
 * A quiet cluster. The API server bookmarks a watch only once its cache has moved past the watch's
 * resourceVersion, so when nothing changes it sends the operator's watches nothing at all. With
 * watches renewed every 2 s (--watch-timeout=2), each one runs its course silent, as every watch of
 * a quiet kind does over its 5-10 minutes by default (and as the 90 s idle watchdog sees it). The
 * operator must check each silent watch's resourceVersion with a one-item list and watch on from it:
 * never list a kind whole again (it used to, every renewal: 10,000 objects re-read every 90 s), and
 * still see the next change.
 *
 * Then the other side of that check, on the same API server: for a resourceVersion its storage does
 * not have (what a storage restored from a backup looks like to a client), it answers "too large
 * resource version", which the runtime classifies as `gone`: relist.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { classify, KubeClient, loadRestConfig } from '../../src/runtime/index.ts';
import { deploymentPath, ewPath, installCrd, waitFor } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import { auditRequests, createMany, isWrite, mergePatch, reportFigures, waitConverged } from './support.ts';

let cluster: LocalCluster | undefined;
let op: OperatorProcess | undefined;
after(async () => {
  await op?.stop();
  await cluster?.stop();
});

const checkQuery = 'resourceVersionMatch=NotOlderThan';

test('an idle operator whose watches hear nothing lists nothing whole again, and still sees the next change', async () => {
  cluster = await LocalCluster.start({ mode: 'api', auditLog: true });
  const admin = cluster.admin;
  await installCrd(admin);
  op = await OperatorProcess.start(cluster.kubeconfigPath, ['--watch-timeout=2']);
  await op.waitReady();
  const ns = 'quiet';
  const names = await createMany(admin, ns, 20, () => ({
    image: 'nginx:1.17.1',
    singlePodsQPS: 100,
    totalQPS: 200,
  }));
  await waitConverged(admin, ns);
  await sleep(3000); // the status pass after the quiet spell, and the watches it wakes

  const quietFrom = Date.now();
  await sleep(12_000);
  const quietUntil = Date.now();
  const inWindow = (await auditRequests(cluster)).filter((r) => r.at >= quietFrom && r.at < quietUntil);
  const watches = inWindow.filter((r) => r.verb === 'watch');
  const checks = inWindow.filter((r) => r.verb === 'list' && r.uri.includes(checkQuery));
  const wholeLists = inWindow.filter((r) => r.verb === 'list' && !r.uri.includes(checkQuery));
  const writes = inWindow.filter((r) => isWrite(r) && r.resource !== 'leases');
  assert.deepEqual(
    writes.map((r) => `${r.verb} ${r.uri}`),
    [],
    'nothing was written in the window, so every watch was quiet',
  );
  const kinds = new Set(watches.map((r) => r.resource));
  assert.deepEqual([...kinds].sort(), ['deployments', 'elasticwebs', 'poddisruptionbudgets', 'services']);
  assert.ok(watches.length >= 12, `watches renewed about every 2 s (${watches.length} in 12 s)`);
  assert.ok(checks.length >= 8, `silent watches were checked with a one-item list (${checks.length})`);
  for (const check of checks) assert.match(check.uri, /[?&]limit=1(&|$)/);
  assert.deepEqual(
    wholeLists.map((r) => r.uri),
    [],
    'no kind was listed whole again while nothing changed',
  );
  assert.ok(
    op.logs.some((l) => l.msg === 'a silent watch; its resourceVersion is still served, watching on'),
    'the operator said why it watched on',
  );

  // The watches it went on with still deliver: a change lands as usual.
  const name = names[0] as string;
  await mergePatch(admin, ewPath(ns, name), { spec: { totalQPS: 500 } });
  await waitFor('the change to reach the Deployment', async () => {
    const d = (await admin.must('GET', deploymentPath(ns, name))).json<{ spec: { replicas: number } }>();
    return d.spec.replicas === 5 ? true : undefined;
  });
  reportFigures('quiet watches', {
    windowSeconds: Math.round((quietUntil - quietFrom) / 1000),
    watches: watches.length,
    checks: checks.length,
    wholeLists: wholeLists.length,
  });
});

test('the check for a resourceVersion the storage does not have is answered "too large", which means relist', async () => {
  assert.ok(cluster, 'the cluster of the test above');
  const client = new KubeClient(await loadRestConfig(cluster.kubeconfigPath), {
    userAgent: 'quiet-watch-test',
  });
  try {
    const path = '/api/v1/namespaces/quiet/services';
    const list = await client.request<{ metadata: { resourceVersion: string } }>('GET', path);
    const query = (resourceVersion: string) => ({
      limit: 1,
      resourceVersion,
      resourceVersionMatch: 'NotOlderThan',
    });
    await client.request('GET', path, { query: query(list.metadata.resourceVersion) });
    const ahead = String(BigInt(list.metadata.resourceVersion) + 1_000_000n);
    const started = Date.now();
    // As the watcher asks: the first answer stands (retried as Retry-After asks, it took 43 s).
    const err = await client.request('GET', path, { query: query(ahead), maxServerRetries: 0 }).then(
      () => assert.fail('a version the storage does not have was served'),
      (e: unknown) => e,
    );
    assert.equal(classify(err).kind, 'gone', String(err));
    assert.equal(classify(err).reason, 'ResourceVersionTooLarge');
    reportFigures('quiet watches: check of a missing version', { answeredInMs: Date.now() - started });
  } finally {
    await client.close();
  }
});
