/**
 * A real Prometheus (Debian's binary, hack/prometheus/install.sh) on a free loopback port with a
 * temporary config and storage, scraping the targets a test names every second; and its query API.
 * A target is plain HTTP, or HTTPS with a bearer token as the ServiceMonitor scrapes the secure
 * endpoint (the token goes to a file, as a pod's ServiceAccount token would).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../hack/cluster/ports.ts';
import { waitFor } from './operator.ts';

export interface ScrapeTarget {
  job: string;
  /** host:port */
  address: string;
  scheme?: 'http' | 'https';
  /** Bearer token sent with each scrape (HTTPS endpoints). */
  token?: string;
  /** Accept a certificate that cannot be verified (the self-signed endpoint), as the ServiceMonitor does. */
  insecureSkipVerify?: boolean;
}

export interface QueryAnswer {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string] }[] };
}

/** The scrape_configs entry for one target. */
export function scrapeConfig(
  target: ScrapeTarget,
  tokenFile: (token: string) => string,
): Record<string, unknown> {
  return {
    job_name: target.job,
    // As the ServiceMonitor's honorLabels: the per-ElasticWeb `namespace` label stays the ElasticWeb's.
    honor_labels: true,
    scheme: target.scheme ?? 'http',
    ...(target.token ? { authorization: { type: 'Bearer', credentials_file: tokenFile(target.token) } } : {}),
    ...(target.insecureSkipVerify ? { tls_config: { insecure_skip_verify: true } } : {}),
    static_configs: [{ targets: [target.address] }],
  };
}

export class Prometheus {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #exited: Promise<number | null>;
  #log = '';

  private constructor(url: string, child: ChildProcess, dir: string) {
    this.url = url;
    this.#child = child;
    this.#dir = dir;
    child.stderr?.on('data', (d: Buffer) => {
      this.#log = (this.#log + d.toString()).slice(-20_000);
    });
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(targets: ScrapeTarget[], scrapeIntervalSeconds = 1): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'elasticweb-prometheus-'));
    let tokens = 0;
    const tokenFile = (token: string) => {
      const path = join(dir, `token-${++tokens}`);
      writeFileSync(path, token, { mode: 0o600 });
      return path;
    };
    const interval = `${scrapeIntervalSeconds}s`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
        scrape_configs: targets.map((t) => scrapeConfig(t, tokenFile)),
      }),
    );
    const port = await freePort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const prometheus = new Prometheus(`http://127.0.0.1:${port}`, child, dir);
    process.once('exit', () => child.kill('SIGKILL'));
    try {
      await waitFor(
        'Prometheus to be ready',
        async () => {
          if (child.exitCode !== null) throw new Error(`prometheus exited: ${prometheus.#log}`);
          return (await fetch(`${prometheus.url}/-/ready`)).status === 200 ? true : undefined;
        },
        30_000,
      );
    } catch (err) {
      await prometheus.stop();
      throw err;
    }
    return prometheus;
  }

  /** An instant query at the current time; a parse error comes back as status "error" (HTTP 400). */
  async query(expr: string): Promise<QueryAnswer> {
    const res = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return (await res.json()) as QueryAnswer;
  }

  /** Values of `label` on series matching `selector` (what Grafana's label_values() shows). */
  async labelValues(label: string, selector: string): Promise<string[]> {
    const res = await fetch(
      `${this.url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': selector })}`,
    );
    const body = (await res.json()) as { status: string; data?: string[]; error?: string };
    if (body.status !== 'success') throw new Error(`label values of ${label} for ${selector}: ${body.error}`);
    return body.data ?? [];
  }

  /** Scrape health of every target (`up`, last error). */
  async targets(): Promise<{ health: string; lastError: string; scrapeUrl: string }[]> {
    const res = await fetch(`${this.url}/api/v1/targets`);
    const body = (await res.json()) as {
      data: { activeTargets: { health: string; lastError: string; scrapeUrl: string }[] };
    };
    return body.data.activeTargets;
  }

  get log(): string {
    return this.#log;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
      await this.#exited;
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
