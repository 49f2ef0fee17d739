/**
 * Soak: 1,000 spec updates across 100 ElasticWebs. Once quiet after the first of them, the operator
 * gives back the heap they grew (idle memory release). After the run (and a garbage collection) the
 * operator's heap is within 20% of what it was before, and no timer or listener is left behind.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { type Footprint, Inspector } from '../support/inspector.ts';
import { ewPath, installCrd, waitFor } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import {
  createMany,
  inParallel,
  mergePatch,
  metricSum,
  operatorCounters,
  reportFigures,
  waitConverged,
} from './support.ts';

let cluster: LocalCluster | undefined;
let op: OperatorProcess | undefined;
let inspector: Inspector | undefined;
after(async () => {
  inspector?.close();
  await op?.stop();
  await cluster?.stop();
});

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

test('1,000 spec updates across 100 ElasticWebs: memory returns within 20%, no handle leaks', async () => {
  cluster = await LocalCluster.start({ mode: 'api' });
  const admin = cluster.admin;
  await installCrd(admin);
  op = await OperatorProcess.start(cluster.kubeconfigPath, ['--log-level=info'], ['--inspect=127.0.0.1:0']);
  const operator = op;
  const url = await waitFor('the inspector URL', async () => {
    const line = operator.logs.find((l) => l.msg.includes('Debugger listening on ws://'));
    return line ? (/ws:\/\/\S+/.exec(line.msg)?.[0] as string) : undefined;
  });
  inspector = await Inspector.connect(url);
  await operator.waitReady();

  const ns = 'soak';
  const names = await createMany(admin, ns, 100, () => ({
    image: 'nginx:1.17.1',
    singlePodsQPS: 100,
    totalQPS: 100,
  }));
  await waitConverged(admin, ns);
  // A warm-up round, so one-time allocations (lazily loaded code, pool sockets) count in "before".
  // Releases counted from here: one may already have come once start-up went quiet.
  const reclaimedEarlier = await metricSum(operator, 'nodejs_gc_idle_reclaimed_bytes_total');
  await inParallel(names, 10, (name) => mergePatch(admin, ewPath(ns, name), { spec: { totalQPS: 200 } }));
  await waitConverged(admin, ns);
  // The operator runs with the image's node flags, --expose-gc among them: once it goes quiet after
  // work that grew its heap, the runtime gives the growth back (src/runtime/memory/idle-release.ts).
  // Asked every 2 s, not every 100 ms: each scrape is work for the process whose quiet is the trigger.
  const releasedBytes = await waitFor(
    'a memory release once the operator is quiet after the warm-up',
    async () => {
      const bytes = (await metricSum(operator, 'nodejs_gc_idle_reclaimed_bytes_total')) - reclaimedEarlier;
      return bytes > 0 ? bytes : undefined;
    },
    60_000,
    2000,
  );
  const before = await inspector.settledFootprint();

  const started = Date.now();
  let updates = 0;
  for (let round = 0; round < 10; round++) {
    await inParallel(names, 10, async (name) => {
      const spec =
        round % 3 === 2
          ? { image: `nginx:1.${17 + round}` }
          : { totalQPS: 100 * (1 + ((round * 7 + Number(name.slice(3))) % 9)) };
      await mergePatch(admin, ewPath(ns, name), { spec });
      updates++;
    });
  }
  await waitConverged(admin, ns);
  const tookMs = Date.now() - started;
  await new Promise((r) => setTimeout(r, 2000));
  const afterRun = await inspector.settledFootprint();

  assert.equal(updates, 1000);
  const growth = afterRun.heapUsed / before.heapUsed - 1;
  assert.ok(
    growth <= 0.2,
    `heap grew ${(growth * 100).toFixed(1)}% (${mib(before.heapUsed)} -> ${mib(afterRun.heapUsed)} MiB)`,
  );
  const count = (f: Footprint, type: string) => f.resources[type] ?? 0;
  assert.ok(
    count(afterRun, 'Timeout') <= count(before, 'Timeout'),
    `timers: ${JSON.stringify(before.resources)} -> ${JSON.stringify(afterRun.resources)}`,
  );
  // Connections are pooled: at most the pool's idle limit (16) more may be kept open.
  assert.ok(count(afterRun, 'TCPSocketWrap') <= count(before, 'TCPSocketWrap') + 16);
  assert.deepEqual(afterRun.listeners, before.listeners, 'process listeners unchanged');
  reportFigures('soak', {
    updates,
    elasticWebs: names.length,
    runMs: tookMs,
    heapBeforeMiB: mib(before.heapUsed),
    heapAfterMiB: mib(afterRun.heapUsed),
    heapGrowthPercent: Math.round(growth * 1000) / 10,
    idleReleasedMiBBefore: mib(releasedBytes),
    idleReleases: await metricSum(operator, 'nodejs_gc_idle_collections_total'),
    rssBeforeMiB: mib(before.rss),
    rssAfterMiB: mib(afterRun.rss),
    timersBefore: count(before, 'Timeout'),
    timersAfter: count(afterRun, 'Timeout'),
    socketsBefore: count(before, 'TCPSocketWrap'),
    socketsAfter: count(afterRun, 'TCPSocketWrap'),
    ...(await operatorCounters(operator)),
  });
});
