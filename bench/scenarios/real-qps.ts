/**
 * Scenario 8, time to REAL-QPS: on a `full` cluster (controller-manager, scheduler and kwok nodes, so
 * Deployments get pods that turn Ready without a container runtime), N ElasticWebs are created at
 * once, and the watcher stamps when each one's Deployment reports all its pods Ready (the cluster's
 * truth) and when its status.realQPS shows them (what `kubectl get ew` shows). The tutorial's realQPS
 * is computed from the spec, not from Ready pods, so it can show before the pods are Ready: the report
 * says so rather than calling it fast.
 */
import { join } from 'node:path';
import {
  createNamespaces,
  elasticWeb,
  identity,
  initialTotalQPS,
  keysFor,
  replicasFor,
  startCluster,
  waitApiServerIdle,
} from '../cluster.ts';
import { ewPath, forEachLimit } from '../kube.ts';
import { Operator } from '../operators.ts';
import { type PeerName, realQpsDone } from '../peers.ts';
import { ConvergenceWatcher, now } from '../watcher.ts';
import { waitQuiet } from './burst.ts';

export interface RealQpsConfig {
  objects: number;
  namespaces: number;
  logDir: string;
}

export interface RealQpsResult {
  /** Seconds from the first create until every Deployment had all its pods Ready. */
  podsReadySeconds: number;
  /** Seconds from the first create until every status.realQPS showed totalQPS. */
  realQpsSeconds: number;
  /** realQPS clock of each ElasticWeb, seconds after the first create, sorted. */
  curve: number[];
}

export async function runRealQps(
  name: PeerName,
  cfg: RealQpsConfig,
  log: (m: string) => void,
): Promise<RealQpsResult> {
  const bc = await startCluster({ auditLog: false, mode: 'full' });
  let operator: Operator | undefined;
  let watcher: ConvergenceWatcher | undefined;
  try {
    const { kubeconfig } = await identity(bc, `op-${name}`);
    const keys = keysFor('ew', cfg.namespaces, cfg.objects);
    await createNamespaces(bc.admin, [...new Set(keys.map((k) => k.ns)), 'ew-warmup']);
    watcher = await ConvergenceWatcher.start(bc.admin, 'ew-', realQpsDone);
    operator = await Operator.start(name, kubeconfig, join(cfg.logDir, `${name}-real-qps.log`));
    await operator.waitForMetrics();
    watcher.expect('ew-warmup/warmup', replicasFor(initialTotalQPS));
    await bc.admin.must('POST', ewPath('ew-warmup'), elasticWeb('ew-warmup', 'warmup'));
    await watcher.waitKey('ew-warmup/warmup', 'status', 120_000);
    await watcher.waitKey('ew-warmup/warmup', 'pods', 120_000);
    await waitQuiet(operator, 1000, 15_000);
    await waitApiServerIdle(bc, { maxCores: 0.3 });

    for (const k of keys) watcher.expect(`${k.ns}/${k.name}`, replicasFor(initialTotalQPS));
    const t0 = now();
    await forEachLimit(keys, 50, async ({ ns, name: n }) => {
      await bc.admin.must('POST', ewPath(ns), elasticWeb(ns, n));
    });
    const timeout = Math.max(180_000, cfg.objects * 1000);
    await watcher.waitAll('pods', timeout);
    await watcher.waitAll('status', timeout);
    const times = (clock: 'pods' | 'status') =>
      keys
        .map((k) => ((watcher?.at(`${k.ns}/${k.name}`, clock) as number) - t0) / 1000)
        .sort((a, b) => a - b);
    const curve = times('status');
    const result = {
      podsReadySeconds: times('pods').at(-1) as number,
      realQpsSeconds: curve.at(-1) as number,
      curve,
    };
    log(
      `  full mode: ${cfg.objects} with all pods Ready in ${result.podsReadySeconds.toFixed(2)} s, ` +
        `REAL-QPS shown in ${result.realQpsSeconds.toFixed(2)} s`,
    );
    return result;
  } finally {
    await operator?.stop();
    await watcher?.stop();
    await bc.stop();
  }
}
