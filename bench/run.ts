/**
 * npm run bench [-- --quick] [-- --runs=N]
 *
 * Measures our operator and the Go/kubebuilder baseline side by side on this machine, alternating
 * them run by run, each run on a fresh local api-mode cluster, and writes bench/results/latest.md,
 * latest.json and burst.svg. See bench/README.md for what each scenario measures and how.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBinaries } from '../hack/cluster/binaries.ts';
import { removeScratch } from './cluster.ts';
import { buildOurs, ensureGoBuilt, type OperatorName } from './operators.ts';
import { type Meta, type Runs, writeReport } from './report.ts';
import { runBurst } from './scenarios/burst.ts';
import { runRawLimit } from './scenarios/raw-limit.ts';
import { prepareScale, runScale } from './scenarios/scale.ts';
import { type LatestJson, summaryMarkdown, withSummary } from './summary.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, runs: { type: 'string' }, only: { type: 'string' } },
  strict: true,
});
const quick = values.quick === true;
/** --only=burst,scale,raw runs some scenarios (for working on one); its report goes to results/partial. */
const only = new Set((values.only ?? 'burst,scale,raw').split(','));
const config = {
  runs: Number(values.runs ?? (quick ? 2 : 3)),
  burstObjects: quick ? 200 : 1000,
  burstNamespaces: 10,
  updates: quick ? 20 : 100,
  idleSeconds: quick ? 20 : 60,
  bigObjects: quick ? 1000 : 10_000,
  bigNamespaces: 20,
  settleSamples: quick ? 5 : 10,
  settleMaxSeconds: quick ? 20 : 60,
};
if (!Number.isInteger(config.runs) || config.runs < 1 || config.runs > 20) {
  console.error('--runs must be an integer from 1 to 20');
  process.exit(2);
}

const ops: OperatorName[] = ['ts', 'go'];
const label: Record<OperatorName, string> = { ts: 'ours', go: 'go' };
const started = Date.now();
const log = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
const root = new URL('..', import.meta.url).pathname;
// Operator logs: kept only when something fails.
const logDir = mkdtempSync(join(os.tmpdir(), 'elasticweb-bench-logs-'));

// Clusters stop themselves on these signals (hack/cluster); operators are killed on exit (operators.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping (operator logs in ${logDir})`);
    setTimeout(() => process.exit(130), 10_000).unref();
  });
}

async function main(): Promise<void> {
  log(`${quick ? 'quick' : 'full'} run: ${JSON.stringify(config)}`);
  buildOurs(log);
  ensureGoBuilt(log);
  const binaries = await ensureBinaries();

  const scaleCfg = {
    objects: config.bigObjects,
    namespaces: config.bigNamespaces,
    settleSamples: config.settleSamples,
    settleMaxSeconds: config.settleMaxSeconds,
    logDir,
  };
  const burstCfg = {
    objects: config.burstObjects,
    namespaces: config.burstNamespaces,
    updates: config.updates,
    idleSeconds: config.idleSeconds,
    logDir,
  };
  const runs: Runs = { burst: { ts: [], go: [] }, scale: { ts: [], go: [] }, raw: { ts: [], go: [] } };

  log(`preparing the ${config.bigObjects}-object state once per operator`);
  const etcdData = {} as Record<OperatorName, string>;
  if (only.has('scale')) for (const op of ops) etcdData[op] = await prepareScale(op, scaleCfg, log);

  // A failed run is reported and left out; the others still count.
  const failures: string[] = [];
  const attempt = async <T>(what: string, list: T[], f: () => Promise<T>) => {
    log(what);
    try {
      list.push(await f());
    } catch (err) {
      failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      log(`  FAILED: ${String(err)}`);
    }
  };
  for (let run = 1; run <= config.runs; run++) {
    const r = `run ${run}/${config.runs}`;
    for (const op of ops.filter(() => only.has('burst'))) {
      await attempt(`${r}: burst, updates, idle — ${label[op]}`, runs.burst[op], () =>
        runBurst(op, burstCfg, log),
      );
    }
    for (const op of ops.filter(() => only.has('scale'))) {
      await attempt(`${r}: restart and memory at ${config.bigObjects} — ${label[op]}`, runs.scale[op], () =>
        runScale(op, scaleCfg, etcdData[op], log),
      );
    }
    for (const pattern of ops.filter(() => only.has('raw'))) {
      await attempt(`${r}: raw limit — ${label[pattern]} writes`, runs.raw[pattern], () =>
        runRawLimit({ objects: config.burstObjects, namespaces: config.burstNamespaces, pattern }, log),
      );
    }
  }
  for (const op of ops) if (etcdData[op]) removeScratch(etcdData[op]);

  const meta: Meta = {
    mode: quick ? 'quick' : 'full',
    config,
    machine: {
      cores: os.cpus().length,
      memoryGiB: os.totalmem() / 2 ** 30,
      cpuModel: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown',
      kernel: os.release(),
    },
    kubernetes: binaries.kubernetesVersion,
    node: process.version,
    go: execFileSync('go', ['version'], { encoding: 'utf8' }).trim(),
    commit: gitCommit(),
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    failures,
  };
  // Quick runs check the harness; they must not overwrite the reference results.
  const partial = values.only !== undefined;
  const outDir = join(
    root,
    partial ? 'bench/results/partial' : quick ? 'bench/results/quick' : 'bench/results',
  );
  writeReport(runs, meta, outDir);
  if (!partial && !quick && failures.length === 0) {
    // The README shows the latest full run's headline table (bench/summary.ts).
    const latest = JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8')) as LatestJson;
    const readme = join(root, 'README.md');
    writeFileSync(readme, withSummary(readFileSync(readme, 'utf8'), summaryMarkdown(latest)));
  }
  log(`done in ${(meta.durationSeconds / 60).toFixed(1)} min: ${outDir}/latest.md, latest.json, burst.svg`);
  if (failures.length > 0) throw new Error(`${failures.length} run(s) failed:\n${failures.join('\n')}`);
  rmSync(logDir, { recursive: true, force: true });
}

/** HEAD, plus "-dirty" when the work tree differs from it (read-only: no index refresh). */
function gitCommit(): string {
  const git = (...args: string[]) =>
    execFileSync('git', ['--no-optional-locks', ...args], { cwd: root, encoding: 'utf8' }).trim();
  try {
    return `${git('rev-parse', 'HEAD')}${git('status', '--porcelain') ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  console.error(err);
  console.error(`operator logs kept in ${logDir}`);
  process.exit(1);
}
