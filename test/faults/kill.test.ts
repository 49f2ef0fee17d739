/**
 * The operator is killed with SIGKILL at random moments while 200 ElasticWebs converge, five times,
 * and restarted each time. Everything converges, with no duplicate and no orphan.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { LocalCluster } from '../../hack/cluster/local-cluster.ts';
import { ewPath, installCrd } from '../support/operator.ts';
import { OperatorProcess } from '../support/operator-process.ts';
import {
  createMany,
  expectedReplicas,
  inParallel,
  mergePatch,
  operatorCounters,
  problems,
  reportFigures,
  snapshot,
  waitConverged,
} from './support.ts';

let cluster: LocalCluster | undefined;
let op: OperatorProcess | undefined;
after(async () => {
  await op?.stop();
  await cluster?.stop();
});

/** The totalQPS of ElasticWeb `i` in round `round` (0-4): 1 to 5 replicas, different in every round. */
const totalQPS = (i: number, round: number) => 100 * (1 + ((i + round) % 5));

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function* randomDelays(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield 20 + (x % 280);
  }
}

test('SIGKILL five times during convergence of 200 ElasticWebs: it converges, no duplicates', async () => {
  cluster = await LocalCluster.start({ mode: 'api' });
  const admin = cluster.admin;
  await installCrd(admin);
  const ns = 'killed';
  const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
  const delays = randomDelays(seed);

  const names = await createMany(admin, ns, 200, (i) => ({
    image: 'nginx:1.17.1',
    singlePodsQPS: 100,
    totalQPS: totalQPS(i, 0),
    // No fixed NodePorts here: kube-apiserver v1.37.2 can leak the NodePort of a Service whose create
    // request was cut off by the kill (see docs/reliability.md); that is the API server's fault, and
    // the operator reports it as NodePortConflict, but it would make this scenario's outcome depend on it.
  }));
  // Problems (see support.ts) left by each kill: the kill must cut real work short.
  const undoneAtEachKill: number[] = [];
  const deploymentsRightAtEachKill: number[] = [];
  for (let kill = 0; kill < 5; kill++) {
    if (kill > 0) {
      // While it is down, every ElasticWeb changes, so each restart has 200 changes to make and
      // each kill lands in the middle of them (otherwise a fast operator is done before the kill).
      await inParallel(names, 20, (name) =>
        mergePatch(admin, ewPath(ns, name), { spec: { totalQPS: totalQPS(Number(name.slice(3)), kill) } }),
      );
    }
    op = await OperatorProcess.start(cluster.kubeconfigPath);
    await op?.waitReady();
    await new Promise((r) => setTimeout(r, delays.next().value as number));
    op.signal('SIGKILL');
    await op.exited;
    const state = await snapshot(admin, ns);
    undoneAtEachKill.push(problems(state).length);
    deploymentsRightAtEachKill.push(
      state.elasticWebs.filter(
        (ew) =>
          state.deployments.find((d) => d.metadata.name === ew.metadata.name)?.spec.replicas ===
          expectedReplicas(ew.spec),
      ).length,
    );
  }
  // Statuses always lag (they wait for a quiet spell), so the proof that a kill cut work short is in
  // the Deployments: some still had the replicas of an older round when it struck.
  assert.ok(
    deploymentsRightAtEachKill.every((n) => n < 200),
    `every kill left Deployments to write (the test would prove nothing otherwise): ${deploymentsRightAtEachKill.join('/')} right`,
  );
  assert.ok(
    deploymentsRightAtEachKill.some((n) => n > 0),
    `a kill landed while Deployments were being written: ${deploymentsRightAtEachKill.join('/')} right`,
  );

  op = await OperatorProcess.start(cluster.kubeconfigPath);
  await op?.waitReady();
  const recoveryMs = await waitConverged(admin, ns);
  reportFigures('operator killed', {
    seed,
    kills: 5,
    problemsLeftAtEachKill: undoneAtEachKill.join('/'),
    deploymentsRightAtEachKill: deploymentsRightAtEachKill.join('/'),
    recoveryAfterLastRestartMs: recoveryMs,
    ...(await operatorCounters(op)),
  });
});
