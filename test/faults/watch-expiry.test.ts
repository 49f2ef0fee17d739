/**
 * Every watch expires: the API server serves watches straight from etcd (no watch cache) and
 * compacts etcd every second, and the operator renews its watches every 2 s. The operator is frozen
 * for 3 s at a time while changes are made, so each renewal after a gap asks for a compacted
 * resourceVersion and gets 410 Gone. It must relist each time and miss no change made in the gap.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { deploymentPath, ewPath, installCrd } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import { createMany, mergePatch, operatorCounters, reportFigures, waitConverged } from './support.ts';

let cluster: LocalCluster | undefined;
let op: OperatorProcess | undefined;
after(async () => {
  await op?.stop();
  await cluster?.stop();
});

test('410 Gone on every watch renewal: the operator relists and every change made meanwhile lands', async () => {
  cluster = await LocalCluster.start({
    mode: 'api',
    apiServerArgs: ['--watch-cache=false', '--etcd-compaction-interval=1s'],
  });
  const admin = cluster.admin;
  await installCrd(admin);
  op = await OperatorProcess.start(cluster.kubeconfigPath, ['--watch-timeout=2']);
  await op?.waitReady();

  const ns = 'expiry';
  const names = await createMany(admin, ns, 50, () => ({
    image: 'nginx:1.17.1',
    singlePodsQPS: 100,
    totalQPS: 100,
  }));
  await waitConverged(admin, ns);

  // Six gaps: the operator is frozen (SIGSTOP) while changes are made and etcd compacts past its
  // resourceVersions; when it thaws, every informer's renewed watch gets 410 Gone.
  const finalQps = new Map<string, number>();
  let changes = 0;
  let deletions = 0;
  const cycles = 6;
  for (let cycle = 0; cycle < cycles; cycle++) {
    op.signal('SIGSTOP');
    for (let j = 0; j < 10; j++) {
      const name = names[(cycle * 10 + j) % names.length] as string;
      const qps = 100 * (2 + ((cycle + j) % 7));
      await mergePatch(admin, ewPath(ns, name), { spec: { totalQPS: qps } });
      finalQps.set(name, qps);
      changes++;
    }
    await admin.must('DELETE', deploymentPath(ns, names[cycle] as string));
    await admin.must('DELETE', `/api/v1/namespaces/${ns}/services/${names[cycle + 10] as string}`);
    deletions += 2;
    await new Promise((r) => setTimeout(r, 3000));
    op.signal('SIGCONT');
    await new Promise((r) => setTimeout(r, 2500));
  }
  const settleMs = await waitConverged(admin, ns);
  for (const [name, qps] of finalQps) {
    const d = (await admin.must('GET', deploymentPath(ns, name))).json<{ spec: { replicas: number } }>();
    assert.equal(d.spec.replicas, Math.ceil(qps / 100), `${name} has the replicas of its last change`);
  }

  const relists = op.logs.filter((l) => l.msg === 'watch expired; relisting' && l.reason === 'Expired');
  const byKind = Object.groupBy(relists, (l) => String(l.informer));
  for (const kind of ['ElasticWeb', 'Deployment', 'Service']) {
    const n = byKind[kind]?.length ?? 0;
    assert.ok(
      n >= cycles,
      `the ${kind} informer relisted after 410 at each of the ${cycles} gaps (${n} times)`,
    );
  }
  assert.equal(op.child.exitCode, null, 'the operator kept running');
  reportFigures('watch expiry', {
    changes,
    objectsDeleted: deletions,
    gaps: cycles,
    relistsAfter410: relists.length,
    convergedAfterLastChangeMs: settleMs,
    ...(await operatorCounters(op)),
  });
});
