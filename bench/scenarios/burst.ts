/**
 * Scenarios 1, 2, 3 and 6 on one fresh cluster, in the order they build on each other:
 *  - burst: N ElasticWebs created at once; seconds until every status shows its children (the clock
 *    a user reads in `kubectl get ew`), and until the children alone exist; the curves; the
 *    operator's API requests (its own rest_client_requests_total) and CPU over the burst;
 *  - update latency: with N converged and idle, one totalQPS change at a time, write -> status shows
 *    the new replicas (and -> Deployment has them);
 *  - idle: requests the operator sends while nothing changes, and its settled RSS.
 * With `audit`, the API server's audit log is on and the run only counts requests by verb and
 * resource (the breakdown table): the audit log costs the API server time, so timed runs go without.
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
import { cpuSeconds, Operator } from '../operators.ts';
import { type PeerName, statusDone } from '../peers.ts';
import { settledRss } from '../rss.ts';
import { ConvergenceWatcher, now } from '../watcher.ts';

export interface BurstConfig {
  objects: number;
  namespaces: number;
  updates: number;
  idleSeconds: number;
  logDir: string;
  /** Count requests by verb and resource from the audit log (an untimed run for the breakdown). */
  audit?: boolean;
}

export interface BurstResult {
  /** Seconds from the first create until every Deployment and Service exists as expected. */
  burstSeconds: number;
  /** Seconds from the first create until every status shows its children. */
  burstStatusSeconds: number;
  /** Seconds after the first create at which each ElasticWeb reached each clock, sorted. */
  curve: number[];
  statusCurve: number[];
  /** rest_client_requests_total of the operator over the burst, per ElasticWeb. */
  clientRequestsPerObject: number;
  clientWritesPerObject: number;
  /** Audit runs only: requests by "verb resource", per ElasticWeb. */
  requestBreakdown?: Record<string, number>;
  /** CPU seconds from the first create until the operator had been quiet for 2 s. */
  cpu: { operator: number; apiServer: number; etcd: number };
  /** Write -> status shows the new replicas, ms. */
  updateLatenciesMs: number[];
  /** Write -> the Deployment has the new replicas, ms. */
  updateChildrenLatenciesMs: number[];
  idleWritesPerMinute: number;
  idleRequestsPerMinute: number;
  /** RSS (MiB): just after the warm-up object; settled idle with it; at the end of the idle phase (N objects). */
  rssOneMiB: number;
  rssIdleSettledMiB: number;
  rssIdleMiB: number;
}

/** Concurrency of the bench's own setup writes. */
const createConcurrency = 50;

export async function runBurst(
  name: PeerName,
  cfg: BurstConfig,
  log: (m: string) => void,
): Promise<BurstResult> {
  const bc = await startCluster({ auditLog: cfg.audit === true });
  let operator: Operator | undefined;
  let watcher: ConvergenceWatcher | undefined;
  try {
    const { kubeconfig } = await identity(bc, `op-${name}`);
    const keys = keysFor('ew', cfg.namespaces, cfg.objects);
    await createNamespaces(bc.admin, [...new Set(keys.map((k) => k.ns)), 'ew-warmup']);
    watcher = await ConvergenceWatcher.start(bc.admin, 'ew-', statusDone(name));

    operator = await Operator.start(name, kubeconfig, join(cfg.logDir, `${name}-burst.log`));
    await operator.waitForMetrics();
    // One object first: once its status is complete the operator is up, its caches synced and its
    // workers running, so the burst measures reconciling, not start-up.
    watcher.expect('ew-warmup/warmup', replicasFor(initialTotalQPS));
    await bc.admin.must('POST', ewPath('ew-warmup'), elasticWeb('ew-warmup', 'warmup'));
    await watcher.waitKey('ew-warmup/warmup', 'status', 60_000);
    await waitQuiet(operator, 1000, 15_000);
    const rssOneMiB = operator.rssMiB();
    const rssIdleSettledMiB = await settledRss(operator, { samples: 5, maxSeconds: 15 });
    await waitApiServerIdle(bc);

    // ---- 1. burst ----
    for (const k of keys) watcher.expect(`${k.ns}/${k.name}`, replicasFor(initialTotalQPS));
    const before = (await operator.scrape())?.requests() ?? { all: 0, writes: 0 };
    const pids = {
      operator: operator.pid,
      apiServer: bc.cluster.process('kube-apiserver').pid as number,
      etcd: bc.cluster.process('etcd').pid as number,
    };
    const cpuBefore = mapValues(pids, cpuSeconds);
    await bc.admin.warm(createConcurrency);
    const t0 = now();
    const auditFrom = Date.now();
    await forEachLimit(keys, createConcurrency, async ({ ns, name: n }) => {
      await bc.admin.must('POST', ewPath(ns), elasticWeb(ns, n));
    });
    // No /metrics scrape until every status is complete: a scrape is work for the operator.
    await watcher.waitAll('status', Math.max(120_000, cfg.objects * 300));
    await watcher.waitAll('children', 10_000);
    const childTimes = keys.map((k) => watcher?.at(`${k.ns}/${k.name}`, 'children') as number);
    const statusTimes = keys.map((k) => watcher?.at(`${k.ns}/${k.name}`, 'status') as number);
    // The burst's cost includes what the operator still sends afterwards (events, late status): the
    // window closes when its request counter has stood still for 2 s.
    await waitQuiet(operator, 2000, 60_000);
    const cpuAfter = mapValues(pids, cpuSeconds);
    const after = (await operator.scrape())?.requests() ?? before;
    const burstSeconds = (Math.max(...childTimes) - t0) / 1000;
    const burstStatusSeconds = (Math.max(...statusTimes) - t0) / 1000;
    let requestBreakdown: Record<string, number> | undefined;
    if (cfg.audit) {
      const audit = new AuditLog(bc.cluster.auditLogPath as string);
      await audit.update();
      const records = audit.select(auditUser(`op-${name}`), auditFrom, Date.now());
      requestBreakdown = Object.fromEntries(
        Object.entries(breakdown(records)).map(([k, v]) => [k, v / cfg.objects]),
      );
    }
    const clientRequestsPerObject = (after.all - before.all) / cfg.objects;
    log(
      `  burst: ${cfg.objects} statuses complete in ${burstStatusSeconds.toFixed(2)} s ` +
        `(children ${burstSeconds.toFixed(2)} s), ${clientRequestsPerObject.toFixed(2)} requests/object`,
    );

    // ---- 2. update latency ----
    const latencies: number[] = [];
    const childLatencies: number[] = [];
    const step = Math.max(1, Math.floor(cfg.objects / Math.max(1, cfg.updates)));
    for (let i = 0; i < cfg.updates; i++) {
      const k = keys[(i * step) % keys.length] as { ns: string; name: string };
      const key = `${k.ns}/${k.name}`;
      const totalQPS = initialTotalQPS + 200; // 3 -> 5 replicas
      watcher.expect(key, replicasFor(totalQPS));
      const written = now();
      await bc.admin.must(
        'PATCH',
        ewPath(k.ns, k.name),
        { spec: { totalQPS } },
        [200],
        'application/merge-patch+json',
      );
      latencies.push((await watcher.waitKey(key, 'status', 30_000)) - written);
      childLatencies.push((await watcher.waitKey(key, 'children', 30_000)) - written);
    }
    if (cfg.updates > 0) {
      const sorted = [...latencies].sort((a, b) => a - b);
      log(
        `  updates to status: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`,
      );
    }

    // ---- 3. idle ----
    let idle = { writes: 0, all: 0, minutes: 1 };
    if (cfg.idleSeconds > 0) {
      await waitQuiet(operator, 2000, 30_000);
      const from = (await operator.scrape())?.requests();
      const idleFrom = Date.now();
      await sleep(cfg.idleSeconds * 1000);
      const to = (await operator.scrape())?.requests();
      if (!from || !to) throw new Error(`${name}: /metrics did not answer in the idle phase`);
      idle = {
        writes: to.writes - from.writes,
        all: to.all - from.all,
        minutes: (Date.now() - idleFrom) / 60_000,
      };
      log(`  idle: ${idle.writes} writes, ${idle.all} requests in ${cfg.idleSeconds} s`);
    }
    const rssIdleMiB = operator.rssMiB();

    return {
      burstSeconds,
      burstStatusSeconds,
      curve: childTimes.map((t) => (t - t0) / 1000).sort((a, b) => a - b),
      statusCurve: statusTimes.map((t) => (t - t0) / 1000).sort((a, b) => a - b),
      clientRequestsPerObject,
      clientWritesPerObject: (after.writes - before.writes) / cfg.objects,
      requestBreakdown,
      cpu: {
        operator: cpuAfter.operator - cpuBefore.operator,
        apiServer: cpuAfter.apiServer - cpuBefore.apiServer,
        etcd: cpuAfter.etcd - cpuBefore.etcd,
      },
      updateLatenciesMs: latencies,
      updateChildrenLatenciesMs: childLatencies,
      idleWritesPerMinute: idle.writes / idle.minutes,
      idleRequestsPerMinute: idle.all / idle.minutes,
      rssOneMiB,
      rssIdleSettledMiB,
      rssIdleMiB,
    };
  } finally {
    await operator?.stop();
    await watcher?.stop();
    await bc.stop();
  }
}

/**
 * Polls the operator's rest_client_requests_total every 250 ms until it has not moved for `quietMs`
 * (bounded by `maxMs`); returns when it last moved (or now, if it never stood still).
 */
export async function waitQuiet(operator: Operator, quietMs: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const count = (await operator.scrape())?.requests().all ?? -1;
    const t = Date.now();
    if (count !== last) {
      last = count;
      movedAt = t;
    } else if (t - movedAt >= quietMs) return movedAt;
    if (t > deadline) return t;
    await sleep(250);
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
