/**
 * The operator as a separate process, exactly as `npm start` runs it (for signals, memory and
 * leader-election tests): JSON logs captured and parsed, metrics and health on free loopback ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '../../hack/cluster/ports.ts';
import { imageEntrypoint } from '../../hack/entrypoint.ts';

const entryPoint = new URL('../../src/cmd/elasticweb-operator.ts', import.meta.url).pathname;

export interface LogLine {
  level: string;
  time: string;
  msg: string;
  [key: string]: unknown;
}

export class OperatorProcess {
  readonly child: ChildProcess;
  readonly metricsUrl: string;
  readonly healthUrl: string;
  readonly startedAt: number;
  readonly logs: LogLine[] = [];
  readonly exited: Promise<number | null>;
  #partial = '';

  private constructor(child: ChildProcess, metricsPort: number, healthPort: number) {
    this.child = child;
    this.startedAt = Date.now();
    this.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    this.healthUrl = `http://127.0.0.1:${healthPort}`;
    child.stdout?.on('data', (chunk: Buffer) => this.#collect(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.#collect(chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts the sources with the image's node flags (see hack/entrypoint.ts); `nodeArgs` add more
   * (for example --inspect=127.0.0.1:0).
   */
  static async start(
    kubeconfig: string,
    extraArgs: string[] = [],
    nodeArgs: string[] = [],
  ): Promise<OperatorProcess> {
    const metricsPort = await freePort();
    const healthPort = await freePort();
    const image = imageEntrypoint();
    const child = spawn(
      process.execPath,
      [
        ...image.nodeArgs,
        ...nodeArgs,
        entryPoint,
        `--kubeconfig=${kubeconfig}`,
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        // The tests read /metrics without a token (test/e2e/metrics-auth.test.ts covers the secure endpoint).
        '--metrics-secure=false',
        `--health-probe-bind-address=127.0.0.1:${healthPort}`,
        '--log-level=debug',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...image.env } },
    );
    return new OperatorProcess(child, metricsPort, healthPort);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  #collect(text: string): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ level: 'raw', time: new Date().toISOString(), msg: line });
      }
    }
  }

  /** HTTP status of GET /readyz, or 0 when nothing listens yet. */
  async readyz(): Promise<number> {
    try {
      return (await fetch(`${this.healthUrl}/readyz`)).status;
    } catch {
      return 0;
    }
  }

  /** Waits until /readyz answers 200; returns when (ms since epoch). */
  async waitReady(timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await this.readyz()) === 200) return Date.now();
      if (this.child.exitCode !== null)
        throw new Error(`the operator exited (${this.child.exitCode}):\n${this.dump()}`);
      if (Date.now() > deadline)
        throw new Error(`the operator was not ready after ${timeoutMs} ms:\n${this.dump()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The value of one series in /metrics (labels must match exactly as rendered), or undefined. */
  async metric(series: string): Promise<number | undefined> {
    try {
      const text = await (await fetch(this.metricsUrl)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : undefined;
    } catch {
      return undefined;
    }
  }

  async metricsText(): Promise<string> {
    return (await fetch(this.metricsUrl)).text();
  }

  /** Resident memory in MiB, from /proc. */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return kb / 1024;
  }

  /** Reconcile intervals [start, end] (ms since epoch), from the debug "reconciled" lines. */
  reconcileIntervals(): [number, number][] {
    return this.logs
      .filter((l) => l.msg === 'reconciled')
      .map((l) => [l.startedAt as number, (l.startedAt as number) + (l.durationMs as number)]);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM and wait (SIGKILL after `graceMs`). */
  async stop(graceMs = 40_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Everything it logged, for a failure message. */
  dump(lines = 40): string {
    return this.logs
      .slice(-lines)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }
}
