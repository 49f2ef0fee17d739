/**
 * node bench/restart-floor/run.ts [rounds] [--state-ts=DIR] [--state-go=DIR] [--keep-states=DIR]
 *
 * What bounds the restart goal (restart at 10,000 no worse than the better Go peer, which is the
 * tutorial's controller). Side by side, each on a fresh cluster holding 10,000 converged ElasticWebs
 * (the state the bench's scale scenario prepares for that peer: bench/children.ts), started once the
 * API server has settled, timed from spawn:
 *  - ours restarting, until every ElasticWeb is verified (its own clock, as the bench times it);
 *  - the list floor of ours (lister.cjs): a bare `node` that lists the four kinds ours caches, with
 *    the same label selectors, and only JSON.parses the pages;
 *  - the tutorial restarting, until every ElasticWeb is verified;
 *  - the list floor of the tutorial: the same bare lister on the two kinds it caches (ElasticWebs and
 *    every Deployment). The tutorial itself decodes Deployments as protobuf, on every core.
 * In `rounds` rounds (default 3), ABBA. Preparing the two states takes about 12 minutes; a saved etcd
 * data folder of each can be passed instead: --keep-states=DIR copies the prepared ones to
 * DIR/ts-10000 and DIR/go-10000.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBinaries } from '../../hack/cluster/binaries.ts';
import { elasticWebType } from '../../src/api/v1/elasticweb.ts';
import { managedByLabel, managedByValue } from '../../src/controllers/elasticweb/desired.ts';
import { apps, core, policy, resourcePath } from '../../src/runtime/index.ts';
import { identity, startCluster, waitApiServerIdle, writeJsonKubeconfig } from '../cluster.ts';
import { ensureBuilt, type PeerName } from '../peers.ts';
import { checkConverged, prepareScale, runScale, type ScaleState } from '../scenarios/scale.ts';
import { median } from '../stats.ts';

const { values, positionals } = parseArgs({
  options: {
    'state-ts': { type: 'string' },
    'state-go': { type: 'string' },
    'keep-states': { type: 'string' },
  },
  allowPositionals: true,
});
const rounds = Number(positionals[0] ?? 3);
const objects = 10_000;
const namespaces = 20;
const here = import.meta.dirname;
const started = Date.now();
const log = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}`);
const logDir = mkdtempSync(join(tmpdir(), 'elasticweb-restart-floor-'));
const cfg = { points: [objects], unrelated: 0, namespaces, settleSamples: 3, settleMaxSeconds: 5, logDir };

await ensureBinaries();
const states: Partial<Record<'ts' | 'go', ScaleState>> = {};
for (const peer of ['ts', 'go'] as const) {
  ensureBuilt(peer, log);
  const given = values[`state-${peer}`];
  if (given) {
    states[peer] = { objects, unrelated: 0, etcdData: given };
    continue;
  }
  log(`preparing ${objects} converged ElasticWebs as ${peer} writes them...`);
  const state = (await prepareScale(peer, cfg, log))[0] as ScaleState;
  if (values['keep-states']) {
    const kept = join(values['keep-states'], `${peer}-${objects}`);
    cpSync(state.etcdData, kept, { recursive: true });
    log(`  kept in ${kept}`);
  }
  states[peer] = state;
}

const owned = `labelSelector=${encodeURIComponent(`${managedByLabel}=${managedByValue}`)}`;
const oursKinds = [
  resourcePath(elasticWebType),
  `${resourcePath(apps.deployments)}?${owned}`,
  `${resourcePath(core.services)}?${owned}`,
  `${resourcePath(policy.podDisruptionBudgets)}?${owned}`,
];
const tutorialKinds = [resourcePath(elasticWebType), resourcePath(apps.deployments)];

/** Seconds from spawning lister.cjs on `paths` until its last page is parsed, on a fresh cluster. */
async function listFloor(peer: PeerName, paths: string[]): Promise<number> {
  const state = states[peer as 'ts' | 'go'] as ScaleState;
  const bc = await startCluster({ auditLog: false, etcdData: state.etcdData });
  const scratch = mkdtempSync(join(tmpdir(), 'elasticweb-lister-'));
  try {
    const { token } = await identity(bc, `op-${peer}`);
    await checkConverged(bc, peer, objects, namespaces);
    await waitApiServerIdle(bc);
    const kubeconfig = join(scratch, 'kubeconfig.json');
    writeJsonKubeconfig(bc, token, kubeconfig);
    const spawnedAt = Date.now();
    const child = spawn(process.execPath, [join(here, 'lister.cjs'), kubeconfig, ...paths], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`lister exited with ${code}`);
    const { doneAt, items } = JSON.parse(out) as { doneAt: number; items: number };
    if (items !== objects * paths.length)
      throw new Error(`lister saw ${items} objects, not ${objects * paths.length}`);
    return (doneAt - spawnedAt) / 1000;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await bc.stop();
  }
}

const subjects: Record<string, () => Promise<number>> = {
  'ours: restart, every ElasticWeb verified': async () =>
    (await runScale('ts', states.ts as ScaleState, cfg, () => {})).restartSeconds,
  'bare lister of the 4 kinds ours caches, JSON': () => listFloor('ts', oursKinds),
  'the tutorial: restart, every ElasticWeb verified': async () =>
    (await runScale('go', states.go as ScaleState, cfg, () => {})).restartSeconds,
  'bare lister of the 2 kinds it caches, JSON': () => listFloor('go', tutorialKinds),
};
const names = Object.keys(subjects);
const results: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 ? [...names].reverse() : names) {
    const seconds = await (subjects[name] as () => Promise<number>)();
    (results[name] as number[]).push(seconds);
    log(`round ${round + 1}: ${name}: ${seconds.toFixed(3)} s`);
  }
}
log('\n| at 10,000 ElasticWebs, seconds from spawn | median (min-max) |\n|---|---|');
for (const name of names) {
  const v = results[name] as number[];
  log(`| ${name} | ${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)}) |`);
}
rmSync(logDir, { recursive: true, force: true });
