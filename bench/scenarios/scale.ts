/**
 * Scenarios 4 and 5, on N converged ElasticWebs plus N unrelated Deployments and N unrelated Services
 * in other namespaces, as in a shared cluster.
 *
 * prepareScale builds that state once per operator (children written by the bench as the operator
 * would have: see children.ts) and keeps a copy of etcd's data; each run then starts a fresh cluster
 * on a copy of it, which takes seconds instead of the minutes the writes take on this machine.
 * In each run the operator starts:
 *  - restart: seconds from process start until controller_runtime_reconcile_total (summed over
 *    results) reaches N: caches synced and every key reconciled once. Scraped from outside every
 *    250 ms, so the figure is rounded up to the next scrape;
 *  - memory: then its RSS, sampled from /proc/<pid>/status every second until it settles.
 * Any write the operator makes meanwhile is counted (rest_client_requests_total): it should be none.
 */
import { join } from 'node:path';
import type { ElasticWeb } from '../../src/api/v1/elasticweb.ts';
import { writeChildren } from '../children.ts';
import {
  type BenchCluster,
  createNamespaces,
  elasticWeb,
  identity,
  initialTotalQPS,
  keysFor,
  replicasFor,
  saveEtcdData,
  startCluster,
  waitApiServerIdle,
} from '../cluster.ts';
import { ewPath, forEachLimit, type Kube, sleep } from '../kube.ts';
import { Operator, type OperatorName } from '../operators.ts';
import { ConvergenceWatcher } from '../watcher.ts';

export interface ScaleConfig {
  objects: number;
  namespaces: number;
  /** RSS has settled when this many 1-second samples lie within 2%; at most settleMaxSeconds. */
  settleSamples: number;
  settleMaxSeconds: number;
  logDir: string;
}

export interface ScaleResult {
  restartSeconds: number;
  /** Settled RSS after every ElasticWeb was verified, MiB. */
  rssMiB: number;
  /** Highest RSS seen from start to settled, MiB. */
  peakRssMiB: number;
  /** Write requests (POST/PUT/PATCH/DELETE) the operator sent from start to settled: should be 0. */
  writes: number;
  /** How long one /metrics scrape takes once all is verified (the cost of polling it), ms. */
  scrapeMs: number;
}

const setupConcurrency = 50;
/**
 * A scrape of our operator's /metrics takes ~50 ms of its only thread at 10,000 ElasticWebs (a series
 * per ElasticWeb). Polling every 250 ms vs every 1 s made no difference above the noise on this
 * machine, so the finer resolution wins; the report shows the scrape cost.
 */
const restartPollMs = 250;

/** Builds the converged N-object state for `name`'s operator; returns the saved etcd data folder. */
export async function prepareScale(
  name: OperatorName,
  cfg: ScaleConfig,
  log: (m: string) => void,
): Promise<string> {
  const started = Date.now();
  // No audit log in these scenarios: nothing here counts requests from it, and it slows the writes.
  const bc = await startCluster({ auditLog: false });
  try {
    await identity(bc, `op-${name}`);
    const keys = keysFor('ew', cfg.namespaces, cfg.objects);
    const others = keysFor('other', cfg.namespaces, cfg.objects);
    await createNamespaces(bc.admin, [...new Set([...keys, ...others].map((k) => k.ns))]);
    const phases: string[] = [];
    const phase = async (what: string, f: () => Promise<void>) => {
      const t = Date.now();
      await f();
      phases.push(`${what} ${((Date.now() - t) / 1000).toFixed(0)} s`);
    };
    await phase('unrelated', () => createUnrelated(bc.admin, others));
    const ews: ElasticWeb[] = [];
    await phase('ElasticWebs', () =>
      forEachLimit(keys, setupConcurrency, async ({ ns, name: n }) => {
        ews.push((await bc.admin.must('POST', ewPath(ns), elasticWeb(ns, n))).json<ElasticWeb>());
      }),
    );
    await phase('children', () => writeChildren(bc.admin, name, ews, setupConcurrency));
    await checkConverged(bc, cfg);
    const saved = await saveEtcdData(bc);
    log(
      `  prepared ${cfg.objects} converged ElasticWebs (${name}) + ${cfg.objects} unrelated Deployments ` +
        `and Services in ${((Date.now() - started) / 1000).toFixed(1)} s (${phases.join(', ')})`,
    );
    return saved;
  } finally {
    await bc.stop();
  }
}

export async function runScale(
  name: OperatorName,
  cfg: ScaleConfig,
  etcdData: string,
  log: (m: string) => void,
): Promise<ScaleResult> {
  const bc = await startCluster({ auditLog: false, etcdData });
  let operator: Operator | undefined;
  try {
    const { kubeconfig } = await identity(bc, `op-${name}`);
    // Also fills the new API server's watch caches, so neither operator pays for that.
    await checkConverged(bc, cfg);
    const settle = await waitApiServerIdle(bc);

    // ---- 5. restart ----
    operator = await Operator.start(name, kubeconfig, join(cfg.logDir, `${name}-scale.log`));
    let peak = 0;
    const deadline = Date.now() + Math.max(300_000, cfg.objects * 60);
    let verifiedAt = 0;
    for (;;) {
      peak = Math.max(peak, safeRss(operator));
      const count = await operator.counter('controller_runtime_reconcile_total');
      if (count !== undefined && count >= cfg.objects) {
        verifiedAt = Date.now();
        break;
      }
      if (operator.child.exitCode !== null) throw new Error(`${name} operator exited during start-up`);
      if (Date.now() > deadline) throw new Error(`${name}: not all verified (${count}/${cfg.objects})`);
      await sleep(restartPollMs);
    }
    const restartSeconds = (verifiedAt - operator.startedAt) / 1000;
    const scrapeStart = performance.now();
    for (let i = 0; i < 3; i++) await operator.counter('controller_runtime_reconcile_total');
    const scrapeMs = (performance.now() - scrapeStart) / 3;

    // ---- 4. memory ----
    const rssMiB = await settledRss(operator, cfg, (v) => {
      peak = Math.max(peak, v);
    });
    const writes = await operator.counter('rest_client_requests_total', (l) =>
      /method="(POST|PUT|PATCH|DELETE)"/.test(l),
    );
    log(
      `  restart: ${cfg.objects} verified ${restartSeconds.toFixed(2)} s after process start; ` +
        `RSS ${rssMiB.toFixed(0)} MiB (peak ${peak.toFixed(0)}); ${writes} writes ` +
        (settle.settled
          ? `(started once the API server had settled, after ${(settle.waitedMs / 1000).toFixed(1)} s)`
          : `(the API server had NOT settled after ${(settle.waitedMs / 1000).toFixed(1)} s)`),
    );
    return {
      restartSeconds,
      rssMiB,
      peakRssMiB: peak,
      writes: writes ?? Number.NaN,
      scrapeMs,
    };
  } finally {
    await operator?.stop();
    await bc.stop();
  }
}

/** The external watcher confirms the starting point: every ElasticWeb converged. */
async function checkConverged(bc: BenchCluster, cfg: ScaleConfig): Promise<void> {
  const watcher = await ConvergenceWatcher.start(bc.admin, 'ew-');
  try {
    for (const k of keysFor('ew', cfg.namespaces, cfg.objects)) {
      watcher.expect(`${k.ns}/${k.name}`, replicasFor(initialTotalQPS));
    }
    await watcher.waitAll(10_000);
  } finally {
    await watcher.stop();
  }
}

/**
 * N Deployments and N Services no ElasticWeb owns. The Services are headless (clusterIP: None):
 * neither operator caches unrelated Services, and skipping IP allocation makes the setup about four
 * times faster on this machine.
 */
async function createUnrelated(admin: Kube, keys: { ns: string; name: string }[]): Promise<void> {
  await forEachLimit(keys, setupConcurrency, async ({ ns, name }) => {
    const labels = { app: name };
    await admin.must('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              { name: 'app', image: 'registry.example/app:1.0', ports: [{ containerPort: 8080 }] },
            ],
          },
        },
      },
    });
    await admin.must('POST', `/api/v1/namespaces/${ns}/services`, {
      metadata: { name, labels },
      spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'http', port: 8080 }] },
    });
  });
}

function safeRss(op: Operator): number {
  try {
    return op.rssMiB();
  } catch {
    return 0;
  }
}

/**
 * Samples RSS every second until the last `settleSamples` samples lie within 2% of their median (or
 * `settleMaxSeconds` pass); returns that median.
 */
async function settledRss(op: Operator, cfg: ScaleConfig, onSample: (v: number) => void): Promise<number> {
  const samples: number[] = [];
  const n = cfg.settleSamples;
  const deadline = Date.now() + cfg.settleMaxSeconds * 1000;
  for (;;) {
    const v = safeRss(op);
    onSample(v);
    samples.push(v);
    const last = samples.slice(-n).sort((a, b) => a - b);
    const median = last[Math.floor(last.length / 2)] as number;
    const settled = last.length === n && (last[n - 1] as number) - (last[0] as number) <= 0.02 * median;
    if (settled || Date.now() >= deadline) return median;
    await sleep(1000);
  }
}
