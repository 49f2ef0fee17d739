/**
 * Scenario 7, the limit: the burst again, with the operator replaced by a minimal client in this
 * (Node) process that makes only the writes an operator makes per ElasticWeb (children.ts), 5 at a
 * time like the operators' workers, with no informers, no queue and no drift check. It is fed straight
 * from the create responses, so it never waits for a watch. Same cluster flags, same
 * ServiceAccount-token authentication, same watcher, same warm-up object.
 *
 * Pattern 'ts' is our operator's writes (create the Deployment, create the Service, merge-patch the
 * status): raw_limit_converge_s. Pattern 'go' is the baseline's (create the Service, create the
 * Deployment, update the whole status), the limit for its writes.
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
import { ewPath, forEachLimit, Kube, sleep } from '../kube.ts';
import type { OperatorName } from '../operators.ts';
import { ConvergenceWatcher } from '../watcher.ts';

export interface RawLimitConfig {
  objects: number;
  namespaces: number;
  pattern: OperatorName;
}

export interface RawLimitResult {
  seconds: number;
  /** Seconds after the first create at which each ElasticWeb converged, sorted. */
  curve: number[];
}

const workers = 5;

export async function runRawLimit(cfg: RawLimitConfig, log: (m: string) => void): Promise<RawLimitResult> {
  const bc = await startCluster({ auditLog: true });
  let watcher: ConvergenceWatcher | undefined;
  let raw: Kube | undefined;
  try {
    const { token } = await identity(bc, `raw-${cfg.pattern}`);
    raw = new Kube(bc.cluster.server, { ca: bc.cluster.pki.pem.ca, token }, workers);
    const client = raw;
    const keys = keysFor('ew', cfg.namespaces, cfg.objects);
    await createNamespaces(bc.admin, [...new Set(keys.map((k) => k.ns))]);
    watcher = await ConvergenceWatcher.start(bc.admin, 'ew-');

    const handle = (ew: ElasticWeb) => writeChildrenOf(client, cfg.pattern, ew);

    // Warm-up, as the operators get: the first writes of each kind on a fresh API server are slow.
    await createNamespaces(bc.admin, ['ew-warmup']);
    watcher.expect('ew-warmup/warmup', replicasFor(initialTotalQPS));
    await handle(
      (
        await bc.admin.must('POST', ewPath('ew-warmup'), elasticWeb('ew-warmup', 'warmup'))
      ).json<ElasticWeb>(),
    );
    await watcher.waitKey('ew-warmup/warmup', 30_000);
    await sleep(1000);

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
    await Promise.all([bc.admin.warm(50), client.warm(workers)]);
    const t0 = Date.now();
    const running = Array.from({ length: workers }, worker);
    await forEachLimit(keys, 50, async ({ ns, name }) => {
      const res = await bc.admin.must('POST', ewPath(ns), elasticWeb(ns, name));
      queue.push(res.json<ElasticWeb>());
      created++;
      // Idle workers re-check the queue; after the last create they see `created === objects` and end.
      wakeAll();
    });
    await Promise.all(running);
    await watcher.waitAll(120_000);
    const times = keys.map((k) => watcher?.convergedAt(`${k.ns}/${k.name}`) as number);
    const seconds = (Math.max(...times) - t0) / 1000;
    log(`  raw limit (${cfg.pattern} writes): ${cfg.objects} converged in ${seconds.toFixed(2)} s`);
    return { seconds, curve: times.map((t) => (t - t0) / 1000).sort((a, b) => a - b) };
  } finally {
    await raw?.close();
    await watcher?.stop();
    await bc.stop();
  }
}
