/**
 * The API server, then etcd, is killed for 20 s while 200 ElasticWebs converge. The operator keeps
 * running, its watches resume, everything converges exactly, and /readyz reports the outage while
 * it lasts.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { installCrd, waitFor } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import { createMany, operatorCounters, reportFigures, snapshot, waitConverged } from './support.ts';

const count = 200;
const downtimeMs = 20_000;
let cluster: LocalCluster | undefined;
let op: OperatorProcess | undefined;

afterEach(async () => {
  await op?.stop();
  await cluster?.stop();
});

for (const component of ['kube-apiserver', 'etcd'] as const) {
  describe(`${component} restart`, () => {
    test(`while ${count} ElasticWebs converge: the operator survives and everything converges`, async () => {
      cluster = await LocalCluster.start({ mode: 'api' });
      await installCrd(cluster.admin);
      op = await OperatorProcess.start(cluster.kubeconfigPath);
      await op.waitReady();

      const ns = 'restart';
      const creating = createMany(cluster.admin, ns, count, (i) => ({
        image: 'nginx:1.17.1',
        singlePodsQPS: 100,
        totalQPS: 100 + (i % 5) * 100,
      }));
      // Strike while objects are still arriving and converging.
      const admin = cluster.admin;
      await waitFor('the first Deployments', async () => {
        const state = await snapshot(admin, ns).catch(() => undefined);
        return (state?.deployments.length ?? 0) > 20 ? true : undefined;
      });
      await creating;
      const before = await snapshot(cluster.admin, ns);
      const converged = before.deployments.length;

      // Watch /readyz through the outage.
      let watching = true;
      const readiness: { at: number; status: number }[] = [];
      const watcher = (async () => {
        while (watching) {
          readiness.push({ at: Date.now(), status: (await op?.readyz()) ?? 0 });
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      const down = Date.now();
      await cluster.restart(component, { kill: true, downtimeMs });
      const up = Date.now();
      const recoveryMs = await waitConverged(cluster.admin, ns);
      await op?.waitReady();
      watching = false;
      await watcher;

      assert.equal(op.child.exitCode, null, 'the operator kept running');
      const notReady = readiness.filter((r) => r.status !== 200 && r.at >= down && r.at <= up + 5000);
      assert.ok(notReady.length > 0, '/readyz reported the outage');
      const firstNotReady = (notReady[0]?.at ?? up) - down;
      assert.ok(
        firstNotReady <= 15_000 + 3_000,
        `/readyz turned not ready ${firstNotReady} ms into the outage`,
      );
      const counters = await operatorCounters(op);
      reportFigures(`${component} restart`, {
        elasticWebs: count,
        convergedBeforeFault: converged,
        outageMs: up - down,
        notReadyAfterMs: firstNotReady,
        recoveryAfterRestartMs: recoveryMs,
        ...counters,
      });
    });
  });
}
