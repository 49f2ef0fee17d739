/**
 * node bench/idle-floor/run.ts [rounds]
 *
 * What bounds the idle-memory goal (idle RSS ≤ 65 MiB): settled resident memory, side by side on one
 * API server holding one ElasticWeb, of
 *  - a bare `node` that has loaded `https` (the bench's reference, bare-node.ts);
 *  - the I/O floor (floor.cjs): the same `node` holding the four watches ours holds, over TLS, and
 *    an HTTP server, with no controller logic;
 *  - ours, started as the image starts it (the Dockerfile's node flags, the manifest's NODE_OPTIONS);
 *  - the best-practice Go peer, for scale.
 * Each in turn, in ABBA order over `rounds` rounds (default 3), each a fresh process given 20 s to
 * settle (bench/rss.ts). Prints a table of medians and ranges.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageEntrypoint } from '../../hack/entrypoint.ts';
import { bareNodeArgs } from '../bare-node.ts';
import { createNamespaces, elasticWeb, identity, startCluster, writeJsonKubeconfig } from '../cluster.ts';
import { ewPath, sleep } from '../kube.ts';
import { command, ensureBuilt } from '../peers.ts';
import { settledRss } from '../rss.ts';
import { median } from '../stats.ts';

const rounds = Number(process.argv[2] ?? 3);
const here = import.meta.dirname;
const log = (m: string) => console.log(m);

ensureBuilt('ts', log);
ensureBuilt('go_best', log);
const bc = await startCluster({ auditLog: false });
const scratch = mkdtempSync(join(tmpdir(), 'elasticweb-idle-floor-'));
try {
  await createNamespaces(bc.admin, ['idle']);
  await bc.admin.must('POST', ewPath('idle'), elasticWeb('idle', 'one'));
  // Ours and the Go peer read the ServiceAccount's kubeconfig; the floor, which has no YAML parser,
  // the same server, CA and token as JSON.
  const { kubeconfig, token } = await identity(bc, 'idle-floor');
  const jsonKubeconfig = join(scratch, 'kubeconfig.json');
  writeJsonKubeconfig(bc, token, jsonKubeconfig);
  const nodeArgs = imageEntrypoint().nodeArgs;
  const ports = ['--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0'];
  const subjects: Record<string, () => { program: string; args: string[]; env: Record<string, string> }> = {
    'bare node + https': () => ({ program: process.execPath, args: bareNodeArgs(), env: {} }),
    'I/O floor (4 TLS watches + HTTP server)': () => ({
      program: process.execPath,
      args: [...nodeArgs, join(here, 'floor.cjs'), jsonKubeconfig],
      env: {},
    }),
    'ours (TypeScript)': () => command('ts', [`--kubeconfig=${kubeconfig}`, ...ports]),
    'Go, best practice': () => command('go_best', [`--kubeconfig=${kubeconfig}`, ...ports]),
  };
  const names = Object.keys(subjects);
  const results: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 ? [...names].reverse() : names) {
      const c = (subjects[name] as () => ReturnType<typeof command>)();
      const child = spawn(c.program, c.args, { stdio: 'ignore', env: { ...process.env, ...c.env } });
      try {
        await sleep(2000);
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
        const mib = await settledRss(child as { pid: number }, { samples: 5, maxSeconds: 20 });
        (results[name] as number[]).push(mib);
        log(`round ${round + 1}: ${name}: ${mib.toFixed(1)} MiB`);
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      }
    }
  }
  log('\n| process | settled RSS, MiB: median (min-max) |\n|---|---|');
  for (const name of names) {
    const v = results[name] as number[];
    log(`| ${name} | ${median(v).toFixed(1)} (${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)}) |`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await bc.stop();
}
