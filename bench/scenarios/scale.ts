/**
 * Scenarios 4 and 5, and the scale curve: restart and memory of each peer on N converged ElasticWebs,
 * for several N, and once more on the largest N plus as many unrelated Deployments and Services in
 * other namespaces, as in a shared cluster (rss_mb_10k, restart_s_10k).
 *
 * prepareScale builds every state once per peer, growing one cluster: N1 ElasticWebs with the children
 * and status that peer writes (children.ts), save etcd's data, add more up to N2, save, ..., then the
 * unrelated objects, save. Each run then starts a fresh cluster on a copy of one saved state, which
 * takes seconds instead of the minutes the writes take on this machine. In each run the peer starts:
 *  - restart: seconds from spawning it until every ElasticWeb has been verified (reconciled without
 *    error), by its own clock: the gauges elasticweb_verified_objects and
 *    elasticweb_verified_objects_last_timestamp_seconds, read from /metrics every 250 ms. A peer
 *    without them (ours, until it exports them) is timed from outside at 250 ms resolution: the first
 *    scrape with controller_runtime_reconcile_total >= N, an empty work queue and no busy worker;
 *  - memory: then its RSS, sampled every second until it settles.
 * Any write the peer makes meanwhile is counted (rest_client_requests_total): it should be none.
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
  removeScratch,
  replicasFor,
  saveEtcdData,
  startCluster,
  waitApiServerIdle,
} from '../cluster.ts';
import { ewPath, forEachLimit, type Kube, sleep } from '../kube.ts';
import { cpuSeconds, Operator, type Scrape } from '../operators.ts';
import { type PeerName, statusDone } from '../peers.ts';
import { rssMiB, settledRss } from '../rss.ts';
import { ConvergenceWatcher } from '../watcher.ts';

export interface ScaleConfig {
  /** ElasticWeb counts of the curve, ascending. */
  points: number[];
  /** Unrelated Deployments and Services added on top of the largest point (0: none). */
  unrelated: number;
  namespaces: number;
  /** RSS has settled when this many 1-second samples lie within 2%; at most settleMaxSeconds. */
  settleSamples: number;
  settleMaxSeconds: number;
  logDir: string;
}

/** One saved state: `objects` ElasticWebs, with or without the unrelated objects. */
export interface ScaleState {
  objects: number;
  unrelated: number;
  etcdData: string;
}

export interface ScaleResult {
  objects: number;
  unrelated: number;
  restartSeconds: number;
  /** 'operator': the peer's own timestamp; 'poll': the bench's 250 ms scrapes. */
  restartClock: 'operator' | 'poll';
  /** CPU seconds the peer used from spawn until all were verified (read at detection). */
  restartCpuSeconds: number;
  /** Settled RSS after every ElasticWeb was verified, MiB. */
  rssMiB: number;
  /** Highest RSS seen from start to settled, MiB. */
  peakRssMiB: number;
  /** Write requests (POST/PUT/PATCH/DELETE) the peer sent from start to settled: should be 0. */
  writes: number;
  /** How long one /metrics scrape takes once all is verified (the cost of polling it), ms. */
  scrapeMs: number;
}

const setupConcurrency = 50;
const restartPollMs = 250;

/**
 * Builds every state of `cfg` for `peer`'s children: the curve's points smallest first, each grown
 * from the previous one, then the headline point (10,000, or the largest below it) plus the
 * unrelated objects, grown from that point's state.
 */
export async function prepareScale(
  peer: PeerName,
  cfg: ScaleConfig,
  log: (m: string) => void,
): Promise<ScaleState[]> {
  const states: ScaleState[] = [];
  let previous: string | undefined;
  let have = 0;
  for (const objects of cfg.points) {
    const saved = await grow(peer, cfg, previous, { from: have, objects, unrelated: 0 }, log);
    states.push({ objects, unrelated: 0, etcdData: saved });
    previous = saved;
    have = objects;
  }
  if (cfg.unrelated > 0) {
    const objects = headlineObjects(cfg.points);
    const base = states.find((s) => s.objects === objects) as ScaleState;
    const saved = await grow(
      peer,
      cfg,
      base.etcdData,
      { from: objects, objects, unrelated: cfg.unrelated },
      log,
    );
    states.push({ objects, unrelated: cfg.unrelated, etcdData: saved });
  }
  return states;
}

/** The point that gets the unrelated objects: 10,000, or the largest point below it. */
export const headlineObjects = (points: number[]) => Math.max(...points.filter((n) => n <= 10_000));

/** Starts a cluster on `previous` (or empty), adds ElasticWebs from..objects and their children, saves. */
async function grow(
  peer: PeerName,
  cfg: ScaleConfig,
  previous: string | undefined,
  step: { from: number; objects: number; unrelated: number },
  log: (m: string) => void,
): Promise<string> {
  const started = Date.now();
  // No audit log here: nothing counts requests from it, and it slows the writes.
  const bc = await startCluster({ auditLog: false, etcdData: previous });
  try {
    if (!previous) {
      await identity(bc, `op-${peer}`);
      await createNamespaces(bc.admin, [
        ...new Set(keysFor('ew', cfg.namespaces, cfg.namespaces).map((k) => k.ns)),
      ]);
    }
    const keys = keysFor('ew', cfg.namespaces, step.objects).slice(step.from);
    const ews: ElasticWeb[] = [];
    await forEachLimit(keys, setupConcurrency, async ({ ns, name }) => {
      ews.push((await bc.admin.must('POST', ewPath(ns), elasticWeb(ns, name))).json<ElasticWeb>());
    });
    await writeChildren(bc.admin, peer, ews, setupConcurrency);
    if (step.unrelated > 0) {
      const others = keysFor('other', cfg.namespaces, step.unrelated);
      await createNamespaces(bc.admin, [...new Set(others.map((k) => k.ns))]);
      await createUnrelated(bc.admin, others);
    }
    await checkConverged(bc, peer, step.objects, cfg.namespaces);
    const saved = await saveEtcdData(bc);
    log(
      `  prepared ${step.objects} converged ElasticWebs (${peer})` +
        `${step.unrelated ? ` + ${step.unrelated} unrelated Deployments and Services` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return saved;
  } finally {
    await bc.stop();
  }
}

export function removeStates(states: ScaleState[]): void {
  for (const s of states) removeScratch(s.etcdData);
}

export async function runScale(
  name: PeerName,
  state: ScaleState,
  cfg: ScaleConfig,
  log: (m: string) => void,
): Promise<ScaleResult> {
  const bc = await startCluster({ auditLog: false, etcdData: state.etcdData });
  let operator: Operator | undefined;
  try {
    const { kubeconfig } = await identity(bc, `op-${name}`);
    // Also fills the new API server's watch caches, so no peer pays for that.
    await checkConverged(bc, name, state.objects, cfg.namespaces);
    const settle = await waitApiServerIdle(bc);

    // ---- 5. restart ----
    operator = await Operator.start(name, kubeconfig, join(cfg.logDir, `${name}-scale.log`));
    const op = operator;
    let peak = 0;
    const deadline = Date.now() + Math.max(300_000, state.objects * 60);
    let verified: { at: number; clock: 'operator' | 'poll' } | undefined;
    for (;;) {
      peak = Math.max(peak, rssMiB(op.pid));
      const scrape = await op.scrape();
      verified = scrape && allVerified(scrape, state.objects);
      if (verified) break;
      if (op.child.exitCode !== null) throw new Error(`${name} operator exited during start-up`);
      if (Date.now() > deadline) throw new Error(`${name}: not all ${state.objects} verified in time`);
      await sleep(restartPollMs);
    }
    const restartCpuSeconds = cpuSeconds(op.pid);
    const restartSeconds = (verified.at - op.startedAt) / 1000;
    const scrapeStart = performance.now();
    for (let i = 0; i < 3; i++) await op.scrape();
    const scrapeMs = (performance.now() - scrapeStart) / 3;

    // ---- 4. memory ----
    const rss = await settledRss(
      op,
      { samples: cfg.settleSamples, maxSeconds: cfg.settleMaxSeconds },
      (v) => {
        peak = Math.max(peak, v);
      },
    );
    const writes = (await op.scrape())?.requests().writes;
    log(
      `  restart at ${state.objects}${state.unrelated ? ` + ${state.unrelated} unrelated` : ''}: verified ` +
        `${restartSeconds.toFixed(3)} s after spawn (${verified.clock} clock), ${restartCpuSeconds.toFixed(2)} CPU-s; ` +
        `RSS ${rss.toFixed(0)} MiB (peak ${peak.toFixed(0)}); ${writes} writes ` +
        (settle.settled
          ? `(API server settled after ${(settle.waitedMs / 1000).toFixed(1)} s)`
          : `(the API server had NOT settled after ${(settle.waitedMs / 1000).toFixed(1)} s)`),
    );
    return {
      objects: state.objects,
      unrelated: state.unrelated,
      restartSeconds,
      restartClock: verified.clock,
      restartCpuSeconds,
      rssMiB: rss,
      peakRssMiB: peak,
      writes: writes ?? Number.NaN,
      scrapeMs,
    };
  } finally {
    await operator?.stop();
    await bc.stop();
  }
}

/**
 * When every one of `objects` ElasticWebs has been verified, by the peer's own clock if it exports
 * elasticweb_verified_objects, else by this scrape (see the file comment); undefined if not yet.
 */
export function allVerified(
  scrape: Scrape,
  objects: number,
): { at: number; clock: 'operator' | 'poll' } | undefined {
  const count = scrape.sum('elasticweb_verified_objects');
  if (count !== undefined) {
    if (count < objects) return undefined;
    const at = (scrape.sum('elasticweb_verified_objects_last_timestamp_seconds') ?? Number.NaN) * 1000;
    return Number.isFinite(at) ? { at, clock: 'operator' } : undefined;
  }
  const reconciles = scrape.sum('controller_runtime_reconcile_total') ?? 0;
  const depth = scrape.sum('workqueue_depth') ?? Number.NaN;
  const busy = scrape.sum('controller_runtime_active_workers') ?? Number.NaN;
  return reconciles >= objects && depth === 0 && busy === 0 ? { at: Date.now(), clock: 'poll' } : undefined;
}

/**
 * The external watcher confirms the starting point: every ElasticWeb converged, status included (it
 * also fills the API server's watch caches).
 */
export async function checkConverged(
  bc: BenchCluster,
  peer: PeerName,
  objects: number,
  namespaces: number,
): Promise<void> {
  const watcher = await ConvergenceWatcher.start(bc.admin, 'ew-', statusDone(peer));
  try {
    const keys = keysFor('ew', namespaces, objects);
    for (const k of keys) watcher.expect(`${k.ns}/${k.name}`, replicasFor(initialTotalQPS));
    await watcher.waitAll('status', Math.max(30_000, objects * 3));
    await watcher.waitAll('children', 1_000);
  } finally {
    await watcher.stop();
  }
}

/**
 * N Deployments and N Services no ElasticWeb owns. The Services are headless (clusterIP: None): no
 * label-scoped peer caches unrelated Services, and skipping IP allocation makes the setup about four
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
