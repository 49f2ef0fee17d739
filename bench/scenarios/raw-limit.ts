/**
 * Scenario 7, the limit: the burst again, with the operator replaced by a client in this (Node)
 * process that makes only the writes an operator needs per ElasticWeb (children.ts, our pattern:
 * create the Deployment, the Service and the PodDisruptionBudget at once, then merge-patch the
 * status), with no informers, no queue and no drift check, fed straight from the create responses.
 * The bench raises its concurrency (5, 10, 20, ...) on a fresh cluster each time until the
 * throughput stops growing by 5% twice in a row or a level limit is reached: kube-apiserver (with
 * etcd, on this machine's cores) is then saturated, and the best level is the limit no operator
 * making these writes on this machine can beat. Then one more level at the best concurrency makes
 * the tutorial's writes instead (children.ts writeGo: Service, Deployment, status PUT; no
 * PodDisruptionBudget, no event): the limit for the tutorial's fewer writes, so each peer's burst
 * can be set against its own limit.
 * Same cluster flags, ServiceAccount-token authentication, warm-up and watcher as the burst.
 */
import type { ElasticWeb } from '../../src/api/v1/elasticweb.ts';
import { writeChildrenOf } from '../children.ts';
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
import { ewPath, forEachLimit, Kube } from '../kube.ts';
import { cpuSeconds } from '../operators.ts';
import { statusDone } from '../peers.ts';
import { ConvergenceWatcher, now } from '../watcher.ts';

export interface RawLimitConfig {
  objects: number;
  namespaces: number;
  /** Concurrency levels to try, ascending. */
  levels: number[];
}

export interface RawPoint {
  concurrency: number;
  /** Seconds until every Deployment and Service existed. */
  seconds: number;
  /** Seconds until every status showed its children. */
  statusSeconds: number;
  /** ElasticWebs per second to status complete. */
  perSecond: number;
  /** kube-apiserver and etcd CPU over the run, in cores. */
  apiServerCores: number;
  etcdCores: number;
  /** The bench process's own CPU over the run, in cores: near 1 would make it the bottleneck. */
  clientCores: number;
  /** Requests the API server turned away with 429 (and the client retried after a pause). */
  rejected: number;
  /** Status clock of each ElasticWeb, seconds after the first create, sorted. */
  curve: number[];
}

export interface RawLimitResult {
  points: RawPoint[];
  /** The level with the most ElasticWebs per second. */
  best: RawPoint;
  /** The tutorial's writes at the best level's concurrency. */
  tutorialWrites: RawPoint;
}

export async function runRawLimit(cfg: RawLimitConfig, log: (m: string) => void): Promise<RawLimitResult> {
  const points: RawPoint[] = [];
  let flat = 0;
  for (const concurrency of cfg.levels) {
    const point = await runLevel(cfg, concurrency);
    points.push(point);
    log(
      `  raw limit at concurrency ${concurrency}: ${point.perSecond.toFixed(0)}/s, ` +
        `${point.statusSeconds.toFixed(2)} s to status (children ${point.seconds.toFixed(2)} s), ` +
        `kube-apiserver ${point.apiServerCores.toFixed(2)} cores, etcd ${point.etcdCores.toFixed(2)}, ` +
        `bench ${point.clientCores.toFixed(2)}, ${point.rejected} answered 429`,
    );
    const best = Math.max(...points.slice(0, -1).map((p) => p.perSecond), 0);
    flat = point.perSecond < best * 1.05 ? flat + 1 : 0;
    if (flat >= 2) break;
  }
  const best = points.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const tutorialWrites = await runLevel(cfg, best.concurrency, 'go');
  log(
    `  raw limit, the tutorial's writes, at concurrency ${best.concurrency}: ` +
      `${tutorialWrites.statusSeconds.toFixed(2)} s to status (children ${tutorialWrites.seconds.toFixed(2)} s)`,
  );
  return { points, best, tutorialWrites };
}

/** One level: `writes` says whose writes the client makes per ElasticWeb (ours or the tutorial's). */
async function runLevel(
  cfg: RawLimitConfig,
  concurrency: number,
  writes: 'ts' | 'go' = 'ts',
): Promise<RawPoint> {
  const bc = await startCluster({ auditLog: false });
  let watcher: ConvergenceWatcher | undefined;
  let raw: Kube | undefined;
  try {
    const { token } = await identity(bc, 'raw');
    // Two connections per worker: its Deployment and Service creates go out together.
    raw = new Kube(bc.cluster.server, { ca: bc.cluster.pki.pem.ca, token }, concurrency * 2);
    const client = raw;
    const keys = keysFor('ew', cfg.namespaces, cfg.objects);
    await createNamespaces(bc.admin, [...new Set(keys.map((k) => k.ns)), 'ew-warmup']);
    watcher = await ConvergenceWatcher.start(bc.admin, 'ew-', statusDone(writes));
    const handle = (ew: ElasticWeb) => writeChildrenOf(client, writes, ew);

    // Warm-up, as the operators get: the first writes of each kind on a fresh API server are slow.
    watcher.expect('ew-warmup/warmup', replicasFor(initialTotalQPS));
    await handle(
      (
        await bc.admin.must('POST', ewPath('ew-warmup'), elasticWeb('ew-warmup', 'warmup'))
      ).json<ElasticWeb>(),
    );
    await watcher.waitKey('ew-warmup/warmup', 'status', 30_000);

    const queue: ElasticWeb[] = [];
    let created = 0;
    let idle: (() => void)[] = [];
    const wakeAll = () => {
      const waiting = idle;
      idle = [];
      for (const w of waiting) w();
    };
    const worker = async () => {
      for (;;) {
        const ew = queue.shift();
        if (ew) await handle(ew);
        else if (created === cfg.objects) return;
        else await new Promise<void>((r) => idle.push(r));
      }
    };

    for (const k of keys) watcher.expect(`${k.ns}/${k.name}`, replicasFor(initialTotalQPS));
    await waitApiServerIdle(bc);
    await Promise.all([bc.admin.warm(50), client.warm(Math.min(concurrency * 2, 200))]);
    const pids = [
      bc.cluster.process('kube-apiserver').pid as number,
      bc.cluster.process('etcd').pid as number,
    ];
    const cpuBefore = pids.map(cpuSeconds);
    const clientBefore = process.cpuUsage();
    const t0 = now();
    const running = Array.from({ length: concurrency }, worker);
    await forEachLimit(keys, 50, async ({ ns, name }) => {
      const res = await bc.admin.must('POST', ewPath(ns), elasticWeb(ns, name));
      queue.push(res.json<ElasticWeb>());
      created++;
      // Idle workers re-check the queue; after the last create they see `created === objects` and end.
      wakeAll();
    });
    await Promise.all(running);
    await watcher.waitAll('status', 120_000);
    await watcher.waitAll('children', 10_000);
    const elapsed = (now() - t0) / 1000;
    const [api, etcd] = pids.map((pid, i) => (cpuSeconds(pid) - (cpuBefore[i] as number)) / elapsed);
    const benchCpu = process.cpuUsage(clientBefore);
    const at = (clock: 'children' | 'status') =>
      keys
        .map((k) => ((watcher?.at(`${k.ns}/${k.name}`, clock) as number) - t0) / 1000)
        .sort((a, b) => a - b);
    const statusCurve = at('status');
    const statusSeconds = statusCurve.at(-1) as number;
    return {
      concurrency,
      seconds: at('children').at(-1) as number,
      statusSeconds,
      perSecond: cfg.objects / statusSeconds,
      apiServerCores: api as number,
      etcdCores: etcd as number,
      clientCores: (benchCpu.user + benchCpu.system) / 1e6 / elapsed,
      rejected: (raw.retried.get(429) ?? 0) + (bc.admin.retried.get(429) ?? 0),
      curve: statusCurve,
    };
  } finally {
    await raw?.close();
    await watcher?.stop();
    await bc.stop();
  }
}
