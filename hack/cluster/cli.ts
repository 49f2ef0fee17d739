/**
 * npm run cluster -- up [--full | --real] [--nodes N]   start a local cluster in the background
 * npm run cluster -- down                               stop it and remove its processes and files
 * npm run cluster -- status                             say whether one is running (exit 0) or not (exit 1)
 *
 * `up` hands the cluster to a small background process that owns it until `down`; the kubeconfig is
 * written to .cluster/kubeconfig (git-ignored). `--real` adds one real node (root only; it says why
 * not, and exits 1, on a machine that cannot run one); `--nodes` counts kwok nodes (0 by default
 * with --real, 3 with --full).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBinaries } from './binaries.ts';
import { type ClusterMode, LocalCluster } from './local-cluster.ts';
import { restoreLeftovers } from './real-node/machine-state.ts';
import { RealNodeUnsupportedError } from './real-node/preflight.ts';
import { prepareRealNode } from './real-node/real-node.ts';

const self = fileURLToPath(import.meta.url);
const stateDir = resolve(dirname(self), '../../.cluster');
const statePath = join(stateDir, 'state.json');
const kubeconfigPath = join(stateDir, 'kubeconfig');
const daemonLog = join(stateDir, 'cluster.log');
/** The cluster's Prometheus, for the operator's --prometheus-url (real mode). */
const prometheusUrlPath = join(stateDir, 'prometheus-url');

interface State {
  pid: number;
  mode: ClusterMode;
  server: string;
  dir: string;
  kubernetesVersion: string;
}

function readState(): State | undefined {
  try {
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as State;
    process.kill(state.pid, 0); // throws when the owner is gone
    return state;
  } catch {
    return undefined;
  }
}

function usage(state: State): string {
  return [
    `A local ${state.mode} cluster (Kubernetes ${state.kubernetesVersion}) is running at ${state.server}.`,
    'Use it with:',
    `  export KUBECONFIG=${kubeconfigPath}`,
    '  kubectl get nodes',
    ...(existsSync(prometheusUrlPath)
      ? [`Its Prometheus: ${readFileSync(prometheusUrlPath, 'utf8').trim()} (also in ${prometheusUrlPath})`]
      : []),
    'Stop it with: npm run cluster -- down',
  ].join('\n');
}

async function up(mode: ClusterMode, nodes: number | undefined): Promise<number> {
  const running = readState();
  if (running) {
    console.log(usage(running));
    return 0;
  }
  // Check and build in the foreground so the reasons, and the progress of a cold build, show here.
  if (mode === 'real') {
    try {
      await prepareRealNode((m) => console.error(m));
    } catch (err) {
      if (!(err instanceof RealNodeUnsupportedError)) throw err;
      console.error(`npm run cluster -- up --real: ${err.message}`);
      return 1;
    }
  }
  await ensureBinaries();
  mkdirSync(stateDir, { recursive: true });
  rmSync(statePath, { force: true });
  const log = openSync(daemonLog, 'w');
  const args = [
    self,
    'serve',
    ...(nodes === undefined ? [] : [`--nodes=${nodes}`]),
    ...(mode === 'full' ? ['--full'] : mode === 'real' ? ['--real'] : []),
  ];
  const daemon = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  daemon.unref();
  console.log(`Starting a local ${mode} cluster (log: ${daemonLog}) ...`);
  const exited = new Promise<number | null>((r) => daemon.once('exit', r));
  for (;;) {
    const state = readState();
    if (state) {
      console.log(usage(state));
      return 0;
    }
    const code = await Promise.race([exited, new Promise((r) => setTimeout(r, 200, 'waiting'))]);
    if (code !== 'waiting') {
      console.error(
        `The cluster failed to start (exit ${code}):\n${readFileSync(daemonLog, 'utf8').slice(-4000)}`,
      );
      return 1;
    }
  }
}

/** Runs in the background process: owns the cluster until SIGTERM/SIGINT. */
async function serve(mode: ClusterMode, nodes: number | undefined): Promise<void> {
  const cluster = await LocalCluster.start({
    mode,
    nodes,
    log: (m) => console.log(new Date().toISOString(), m),
  });
  writeFileSync(kubeconfigPath, readFileSync(cluster.kubeconfigPath), { mode: 0o600 });
  if (cluster.prometheus) writeFileSync(prometheusUrlPath, `${cluster.prometheus.url}\n`);
  process.once('exit', () => {
    rmSync(statePath, { force: true });
    rmSync(kubeconfigPath, { force: true });
    rmSync(prometheusUrlPath, { force: true });
  });
  const state: State = {
    pid: process.pid,
    mode,
    server: cluster.server,
    dir: cluster.dir,
    kubernetesVersion: cluster.binaries.kubernetesVersion,
  };
  writeFileSync(statePath, JSON.stringify(state, null, 2));
  // Stay alive until a signal; the cluster module stops the cluster and exits on SIGTERM/SIGINT.
  setInterval(() => {}, 1 << 30);
}

async function down(): Promise<number> {
  const state = readState();
  if (!state) {
    console.log('No local cluster is running.');
    rmSync(statePath, { force: true });
    // A real node whose owner was killed outright may have left machine settings behind.
    if (await restoreLeftovers((m) => console.log(m)).catch(() => false)) {
      console.log('Undid what an earlier real node left behind.');
    }
    return 0;
  }
  process.kill(state.pid, 'SIGTERM');
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(state.pid, 0);
    } catch {
      console.log('The local cluster is stopped and its files removed.');
      return 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(state.pid, 'SIGKILL'); // its reaper then kills the cluster's processes
  console.log('The local cluster did not stop in 30 s; killed it.');
  return 0;
}

function status(): number {
  const state = readState();
  if (!state) {
    console.log('No local cluster is running. Start one with: npm run cluster -- up [--full | --real]');
    return 1;
  }
  console.log(usage(state));
  return 0;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      full: { type: 'boolean', default: false },
      real: { type: 'boolean', default: false },
      nodes: { type: 'string' },
    },
  });
  const mode: ClusterMode = values.real ? 'real' : values.full ? 'full' : 'api';
  const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
  switch (positionals[0]) {
    case 'up':
      return up(mode, nodes);
    case 'serve':
      await serve(mode, nodes);
      return -1;
    case 'down':
      return down();
    case 'status':
      return status();
    default:
      console.error('usage: npm run cluster -- up [--full | --real] [--nodes N] | down | status');
      return 2;
  }
}

const code = await main();
if (code >= 0) process.exit(code);
