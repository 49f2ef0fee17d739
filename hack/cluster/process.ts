/**
 * One long-running program of the local cluster (etcd, kube-apiserver, ...): started in its own
 * process group so that stopping it also stops anything it spawned, with its output in a log file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ProcessSpec {
  name: string;
  binary: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

export class ManagedProcess {
  readonly spec: ProcessSpec;
  #child: ChildProcess | undefined;
  #exited: Promise<number | null> = Promise.resolve(null);
  #onPidChange: () => void;

  /** `onPidChange` is told each time the process starts or stops, so the reaper's pid list stays true. */
  constructor(spec: ProcessSpec, onPidChange: () => void) {
    this.spec = spec;
    this.#onPidChange = onPidChange;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** Resolves with the exit code (null when killed by a signal) once the process ends. */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running (pid ${this.pid})`);
    const log = openSync(this.spec.logFile, 'a');
    try {
      const child = spawn(this.spec.binary, this.spec.args, {
        detached: true, // its own process group: the reaper and stop() kill the whole group
        stdio: ['ignore', log, log],
        env: this.spec.env ?? process.env,
      });
      // A cluster's processes must never keep the test runner or the CLI alive on their own.
      child.unref();
      this.#child = child;
      this.#exited = new Promise((resolve) => {
        child.once('exit', (code) => {
          this.#onPidChange();
          resolve(code);
        });
        child.once('error', () => resolve(null));
      });
    } finally {
      closeSync(log);
    }
    this.#onPidChange();
  }

  /** Sends `signal` to the process group; does not wait. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    // Held while we wait: the child is unref'd, and once SIGKILL is sent and its timer cleared, nothing
    // else may keep this process alive; it would then exit in the middle of a teardown (the real node's
    // machine left for the reaper, racing the next cluster's start).
    this.#child?.ref();
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.#exited, killed]);
    clearTimeout(timer);
    await this.#exited;
  }

  /** The last `lines` lines of the log, to explain a failure. */
  tail(lines = 30): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
