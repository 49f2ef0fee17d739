/**
 * A peer's operator as a child process, started the way it runs in production (peers.ts): its own
 * program, its own kubeconfig (a ServiceAccount), default log level, logs to a file. Metrics and
 * health listen on free loopback ports so the bench can read the peer's client and controller
 * metrics (rest_client_requests_total, controller_runtime_*, elasticweb_verified_objects).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../hack/cluster/ports.ts';
import { sleep } from './kube.ts';
import { command, type PeerName } from './peers.ts';

const root = new URL('..', import.meta.url).pathname;
const reaper = join(root, 'hack/cluster/reaper.sh');

/** Every operator still running, killed on exit whatever the reason. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** More node flags for ours, for profiling (e.g. BENCH_TS_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"). */
const extraNodeArgs = () => (process.env.BENCH_TS_NODE_ARGS ?? '').split(' ').filter(Boolean);

export class Operator {
  readonly name: PeerName;
  readonly child: ChildProcess;
  /** Date.now() just before spawn. */
  readonly startedAt: number;
  readonly metricsUrl: string;
  readonly exited: Promise<number | null>;
  readonly #reaperDir: string;

  private constructor(
    name: PeerName,
    child: ChildProcess,
    startedAt: number,
    metricsPort: number,
    reaperDir: string,
  ) {
    this.name = name;
    this.child = child;
    this.startedAt = startedAt;
    this.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    this.#reaperDir = reaperDir;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      // Could not be started at all (e.g. the program is missing): reported by waitForMetrics.
      child.once('error', (err) => {
        console.error(`${name} operator: ${err.message}`);
        resolve(null);
      });
    });
    running.add(child);
    void this.exited.then(() => running.delete(child));
  }

  static async start(name: PeerName, kubeconfig: string, logFile: string): Promise<Operator> {
    const metricsPort = await freePort();
    const healthPort = await freePort();
    const common = [
      `--kubeconfig=${kubeconfig}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    ];
    // Every peer at its defaults otherwise: 5 concurrent reconciles, info-level JSON logs.
    const cmd = command(name, common, name === 'ts' ? extraNodeArgs() : []);
    const out = openSync(logFile, 'a');
    const startedAt = Date.now();
    // Its own process group, so the reaper can kill it if the bench itself is killed outright.
    const child = spawn(cmd.program, cmd.args, {
      stdio: ['ignore', out, out],
      detached: true,
      env: { ...process.env, ...cmd.env },
    });
    closeSync(out);
    const reaperDir = mkdtempSync(join(tmpdir(), 'elasticweb-bench-op-'));
    writeFileSync(join(reaperDir, 'pids'), `${child.pid}\n`);
    spawn('bash', [reaper, String(process.pid), reaperDir], { detached: true, stdio: 'ignore' }).unref();
    return new Operator(name, child, startedAt, metricsPort, reaperDir);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resident set size in MiB, from /proc/<pid>/status. */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
  }

  /** One scrape of /metrics, or undefined while it does not answer. */
  async scrape(): Promise<Scrape | undefined> {
    try {
      const res = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(5000) });
      return new Scrape(await res.text());
    } catch {
      return undefined;
    }
  }

  /** Sum of a counter over its label sets (those whose line passes `filter`); undefined without /metrics. */
  async counter(name: string, filter: (line: string) => boolean = () => true): Promise<number | undefined> {
    return (await this.scrape())?.sum(name, filter);
  }

  /** Waits until /metrics answers (the process is up and listening); bounded. */
  async waitForMetrics(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.counter('controller_runtime_reconcile_total')) === undefined) {
      if (this.child.exitCode !== null)
        throw new Error(`${this.name} operator exited with ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`${this.name} operator: no /metrics after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    rmSync(join(this.#reaperDir, 'pids'), { force: true });
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.#reaperDir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return 0;
  }
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** The text of one /metrics scrape, queried by series name. */
export class Scrape {
  readonly #lines: string[];

  constructor(text: string) {
    this.#lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  }

  /** Sum over the label sets of `name` whose line passes `filter`; undefined when the series is absent. */
  sum(name: string, filter: (line: string) => boolean = () => true): number | undefined {
    let sum: number | undefined;
    for (const line of this.#lines) {
      if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && filter(line)) {
        sum = (sum ?? 0) + Number(line.split(' ').pop());
      }
    }
    return sum;
  }

  /** Client requests by HTTP method, from rest_client_requests_total (client-go's and ours alike). */
  requests(): { all: number; writes: number } {
    return {
      all: this.sum('rest_client_requests_total') ?? 0,
      writes: this.sum('rest_client_requests_total', (l) => /method="(POST|PUT|PATCH|DELETE)"/.test(l)) ?? 0,
    };
  }
}
