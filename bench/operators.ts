/**
 * Either operator as a child process, started the way it runs in production: its own program, its own
 * kubeconfig (a ServiceAccount), default log level, logs to a file. Metrics and health listen on free
 * loopback ports so the bench can scrape controller_runtime_reconcile_total.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../hack/cluster/ports.ts';
import { imageEntrypoint } from '../hack/entrypoint.ts';
import { sleep } from './kube.ts';

export type OperatorName = 'ts' | 'go';

const root = new URL('..', import.meta.url).pathname;
const goDir = join(root, 'bench/baseline-go');
const goBinary = join(goDir, 'bin/manager');
// Ours runs as the image runs it: the built JavaScript with the image's node flags.
const tsEntry = imageEntrypoint();
const reaper = join(root, 'hack/cluster/reaper.sh');

/** Every operator still running, killed on exit whatever the reason. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Newest modification time of the Go sources (bin/ excluded). */
function newestGoSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'bin') newest = Math.max(newest, newestGoSource(path));
    } else if (/\.go$|^go\.(mod|sum)$/.test(entry.name)) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/** Builds our dist/ (npm run build): the JavaScript the image runs. */
export function buildOurs(log: (m: string) => void): void {
  log('building our operator (npm run build -> dist/)...');
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
}

/** Builds bench/baseline-go/bin/manager when it is missing or older than its sources. */
export function ensureGoBuilt(log: (m: string) => void): void {
  let built = 0;
  try {
    built = statSync(goBinary).mtimeMs;
  } catch {
    // missing
  }
  if (built >= newestGoSource(goDir)) return;
  log('building the Go baseline (bench/baseline-go/bin/manager)...');
  execFileSync('go', ['build', '-o', 'bin/manager', '.'], {
    cwd: goDir,
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: 'inherit',
  });
}

/** More node flags for ours, for profiling (e.g. BENCH_TS_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"). */
const extraNodeArgs = () => (process.env.BENCH_TS_NODE_ARGS ?? '').split(' ').filter(Boolean);

export class Operator {
  readonly name: OperatorName;
  readonly child: ChildProcess;
  /** Date.now() just before spawn. */
  readonly startedAt: number;
  readonly metricsUrl: string;
  readonly exited: Promise<number | null>;
  readonly #reaperDir: string;

  private constructor(
    name: OperatorName,
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

  static async start(name: OperatorName, kubeconfig: string, logFile: string): Promise<Operator> {
    const metricsPort = await freePort();
    const healthPort = await freePort();
    const common = [
      `--kubeconfig=${kubeconfig}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    ];
    // Both at their defaults otherwise: 5 concurrent reconciles, info-level logs.
    const [program, args] =
      name === 'ts'
        ? // Plain HTTP metrics, as the Go baseline serves them (the bench reads them without a token).
          [
            process.execPath,
            [
              ...tsEntry.nodeArgs,
              ...extraNodeArgs(),
              join(root, tsEntry.script),
              ...common,
              '--metrics-secure=false',
            ],
          ]
        : [goBinary, common];
    const out = openSync(logFile, 'a');
    const startedAt = Date.now();
    // Its own process group, so the reaper can kill it if the bench itself is killed outright.
    const child = spawn(program, args, { stdio: ['ignore', out, out], detached: true });
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

  /**
   * Sum of a counter over its label sets (those whose line passes `filter`), or undefined while
   * /metrics does not answer.
   */
  async counter(name: string, filter: (line: string) => boolean = () => true): Promise<number | undefined> {
    let text: string;
    try {
      text = await (await fetch(this.metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
    } catch {
      return undefined;
    }
    let sum = 0;
    for (const line of text.split('\n')) {
      if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && filter(line)) {
        sum += Number(line.split(' ').pop());
      }
    }
    return sum;
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
