/**
 * Scenarios 1, 2, 3 and 6 on one fresh cluster, in the order they build on each other:
 *  - burst: N ElasticWebs created at once; seconds until the watcher sees every Deployment (with the
 *    right replicas) and Service; the convergence curve; API requests per object (audit log);
 *  - update latency: with N converged and idle, one totalQPS change at a time, write -> new replicas;
 *  - idle writes: writes the operator sends while nothing changes.
 */
import { join } from 'node:path';
import { AuditLog, breakdown } from '../audit.ts';
import {
  auditUser,
  createNamespaces,
  elasticWeb,
  identity,
  initialTotalQPS,
  keysFor,
  replicasFor,
  startCluster,
  waitApiServerIdle,
} from '../cluster.ts';
import { ewPath, forEachLimit, sleep } from '../kube.ts';
import { cpuSeconds, Operator, type OperatorName } from '../operators.ts';
import { ConvergenceWatcher } from '../watcher.ts';

export interface BurstConfig {
  objects: number;
  namespaces: number;
  updates: number;
  idleSeconds: number;
  logDir: string;
}

export interface BurstResult {
  burstSeconds: number;
  /** Seconds after the first create at which each ElasticWeb converged, sorted. */
  curve: number[];
  requestsPerObject: number;
  /** The same from the operator's own rest_client_requests_total, as a cross-check. */
  clientRequestsPerObject: number;
  requestBreakdown: Record<string, number>;
  /** CPU seconds over the burst window. */
  cpu: { operator: number; apiServer: number; etcd: number };
  updateLatenciesMs: number[];
  idleWritesPerMinute: number;
  idleRequestsPerMinute: number;
  idleBreakdown: Record<string, number>;
  /** RSS (MiB) with only the warm-up object, and at the end of the idle phase (N objects). */
  rssOneMiB: number;
  rssIdleMiB: number;
}

/** Concurrency of the bench's own setup writes. */
const createConcurrency = 50;

export async function runBurst(
  name: OperatorName,
  cfg: BurstConfig,
  log: (m: string) => void,
): Promise<BurstResult> {
  const bc = await startCluster({ auditLog: true });
  let operator: Operator | undefined;
  let watcher: ConvergenceWatcher | undefined;
  try {
    const user = auditUser(`op-${name}`);
    const { kubeconfig } = await identity(bc, `op-${name}`);
    const audit = new AuditLog(bc.cluster.auditLogPath as string);
    const keys = keysFor('ew', cfg.namespaces, cfg.objects);
    await createNamespaces(bc.admin, [...new Set(keys.map((k) => k.ns)), 'ew-warmup']);
    watcher = await ConvergenceWatcher.start(bc.admin, 'ew-');

    operator = await Operator.start(name, kubeconfig, join(cfg.logDir, `${name}-burst.log`));
    await operator.waitForMetrics();
    // One object first: once it converges the operator is up, its caches synced and workers running,
    // so the burst measures reconciling, not start-up.
    watcher.expect('ew-warmup/warmup', replicasFor(initialTotalQPS));
    await bc.admin.must('POST', ewPath('ew-warmup'), elasticWeb('ew-warmup', 'warmup'));
    await watcher.waitKey('ew-warmup/warmup', 60_000);
    await waitQuiet(audit, user, 1000, 15_000);
    await waitApiServerIdle(bc);
    const rssOneMiB = operator.rssMiB();

    // ---- 1. burst ----
    for (const k of keys) watcher.expect(`${k.ns}/${k.name}`, replicasFor(initialTotalQPS));
    const clientBefore = (await operator.counter('rest_client_requests_total')) ?? 0;
    const pids = {
      operator: operator.pid,
      apiServer: bc.cluster.process('kube-apiserver').pid as number,
      etcd: bc.cluster.process('etcd').pid as number,
    };
    const cpuBefore = mapValues(pids, cpuSeconds);
    await bc.admin.warm(createConcurrency);
    const t0 = Date.now();
    await forEachLimit(keys, createConcurrency, async ({ ns, name: n }) => {
      await bc.admin.must('POST', ewPath(ns), elasticWeb(ns, n));
    });
    await watcher.waitAll(Math.max(120_000, cfg.objects * 300));
    const times = keys.map((k) => watcher?.convergedAt(`${k.ns}/${k.name}`) as number);
    const tEnd = Math.max(...times);
    // The burst's cost includes what the operator still sends after the last convergence (status,
    // events): the window closes when it has been quiet for 2 s.
    const quietAt = await waitQuiet(audit, user, 2000, 60_000);
    const cpuAfter = mapValues(pids, cpuSeconds);
    const clientAfter = (await operator.counter('rest_client_requests_total')) ?? 0;
    const burstRequests = audit.select(user, t0, quietAt);
    log(
      `  burst: ${cfg.objects} converged in ${((tEnd - t0) / 1000).toFixed(2)} s, ` +
        `${(burstRequests.length / cfg.objects).toFixed(2)} requests/object`,
    );

    // ---- 2. update latency ----
    const latencies: number[] = [];
    const step = Math.max(1, Math.floor(cfg.objects / cfg.updates));
    for (let i = 0; i < cfg.updates; i++) {
      const k = keys[(i * step) % keys.length] as { ns: string; name: string };
      const key = `${k.ns}/${k.name}`;
      const totalQPS = initialTotalQPS + 200; // 3 -> 5 replicas
      watcher.expect(key, replicasFor(totalQPS));
      const written = Date.now();
      await bc.admin.must(
        'PATCH',
        ewPath(k.ns, k.name),
        { spec: { totalQPS } },
        [200],
        'application/merge-patch+json',
      );
      latencies.push((await watcher.waitKey(key, 30_000)) - written);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    log(`  updates: p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms`);

    // ---- 3. idle writes ----
    await waitQuiet(audit, user, 2000, 30_000);
    const idleFrom = Date.now();
    await sleep(cfg.idleSeconds * 1000);
    const idleTo = Date.now();
    const rssIdleMiB = operator.rssMiB();
    await audit.update();
    const minutes = (idleTo - idleFrom) / 60_000;
    const idleAll = audit.select(user, idleFrom, idleTo);
    const idleWrites = audit.select(user, idleFrom, idleTo, true);
    log(`  idle: ${idleWrites.length} writes, ${idleAll.length} requests in ${cfg.idleSeconds} s`);

    return {
      burstSeconds: (tEnd - t0) / 1000,
      curve: times.map((t) => (t - t0) / 1000).sort((a, b) => a - b),
      requestsPerObject: burstRequests.length / cfg.objects,
      clientRequestsPerObject: (clientAfter - clientBefore) / cfg.objects,
      requestBreakdown: breakdown(burstRequests),
      cpu: {
        operator: cpuAfter.operator - cpuBefore.operator,
        apiServer: cpuAfter.apiServer - cpuBefore.apiServer,
        etcd: cpuAfter.etcd - cpuBefore.etcd,
      },
      updateLatenciesMs: latencies,
      idleWritesPerMinute: idleWrites.length / minutes,
      idleRequestsPerMinute: idleAll.length / minutes,
      idleBreakdown: breakdown(idleAll),
      rssOneMiB,
      rssIdleMiB,
    };
  } finally {
    await operator?.stop();
    await watcher?.stop();
    await bc.stop();
  }
}

/**
 * Polls the audit log until `user` has sent nothing for `quietMs` (bounded by `maxMs`); returns the
 * time of that user's last request (or now, if it never went quiet).
 */
export async function waitQuiet(
  audit: AuditLog,
  user: string,
  quietMs: number,
  maxMs: number,
): Promise<number> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    await sleep(250);
    await audit.update();
    let last = 0;
    for (let i = audit.records.length - 1; i >= 0; i--) {
      const r = audit.records[i];
      if (r && r.user === user && r.verb !== 'watch') {
        last = r.at;
        break;
      }
    }
    const now = Date.now();
    if (now - last >= quietMs) return last || now;
    if (now > deadline) return now;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

function mapValues<K extends string>(o: Record<K, number>, f: (v: number) => number): Record<K, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v as number)])) as Record<K, number>;
}
